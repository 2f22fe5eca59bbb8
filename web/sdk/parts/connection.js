// The Socket.IO connection to the server (docs/protocol.md): opening it with the credential, and
// requests that wait for their ack.
import { io } from '../vendor/socket.io.esm.min.js';
import { sdkError } from './errors.js';

export const REQUEST_TIMEOUT_MS = 10000;

/**
 * A connection to `server` authenticated by `auth` ({appId, userID, userSig}, or a function
 * socket.io calls with a callback on every (re)connection), not yet open (see
 * `connected`). `options` are socket.io-client's; socket.io reconnects by itself after a drop.
 */
export function openSocket(server, auth, options) {
  // socket.io-client reads a URL's path as a namespace: a server under a sub-path
  // ("https://example.com/cc") is its origin, with the Socket.IO endpoint under that path.
  const base = new URL(server, typeof location !== 'undefined' ? location.href : undefined);
  const path = `${base.pathname.replace(/\/$/, '')}/socket.io`;
  // Retries after about 0.5, 1, then every 2 s (socket.io's default climbs to 5 s): a call
  // waits for its dropped side only the resume window (30 s), and after a server restart every
  // client comes back within a few seconds. The default ±50 % jitter spreads a crowd of them.
  return io(base.origin, {
    path, autoConnect: false, reconnection: true, reconnectionDelay: 500, reconnectionDelayMax: 2000,
    ...options, auth,
  });
}

/**
 * Connects `socket`; resolves once it is connected, rejects with the server's refusal (e.g.
 * AUTH_INVALID) or CONNECT_FAILED.
 */
export function connected(socket) {
  const done = new Promise((resolve, reject) => {
    const onConnect = () => { cleanup(); resolve(); };
    const onError = (err) => {
      cleanup();
      const data = err && err.data;
      reject(sdkError((data && data.code) || 'CONNECT_FAILED',
        (data && data.message) || (err && err.message) || 'connection failed'));
    };
    const cleanup = () => {
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
  socket.connect();
  return done;
}

/**
 * Sends `event` and resolves with its ack ({ok: true, ...}); rejects with the ack's error code,
 * or TIMEOUT when no ack came in `timeoutMs`.
 */
export async function request(socket, event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
  let ack;
  try {
    ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
  } catch (err) {
    throw sdkError('TIMEOUT', `${event}: no answer from the server`);
  }
  if (!ack || ack.ok !== true) {
    const e = (ack && ack.error) || {};
    throw sdkError(e.code || 'INTERNAL', e.message || `${event} failed`);
  }
  return ack;
}
