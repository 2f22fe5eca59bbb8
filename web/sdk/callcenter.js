/**
 * callcenter browser SDK: a framework-free ES module served at /sdk/callcenter.js.
 *
 *   import CallClient from '/sdk/callcenter.js';
 *   const client = new CallClient({appId: 'demo'});          // server defaults to location.origin
 *   client.on(CallClient.EVENT.INVITED, ({sponsor, inviteData}) => ...);
 *   await client.login({userID: 'alice', userSig});
 *   await client.call({userID: 'bob', type: CallClient.CALL_TYPE.VIDEO_CALL, timeout: 30});
 *
 * The API mirrors TUICalling/TRTCCalling for the web (method and event names); see
 * docs/protocol.md for the wire protocol it speaks over Socket.IO.
 *
 * Media: a mesh of RTCPeerConnections, one per remote participant. The participant who accepts
 * sends an offer to everybody already in the call; joined participants only answer. ICE
 * candidates trickle through `signal` (kind `candidate`). Each connection is created with one
 * audio and one video transceiver, so turning the camera on or off and switching between audio
 * and video calls never needs a renegotiation (`RTCRtpSender.replaceTrack`).
 *
 * Every method returns a Promise. `hangup()` and `reject()` never reject. Errors carry `code`:
 * the protocol's string codes (e.g. `ALREADY_IN_CALL`, `AUTH_INVALID`), `TIMEOUT`,
 * `CONNECT_FAILED`, `NOT_LOGGED_IN`, `NOT_INVITED`, `NOT_IN_CALL`, or TUICalling's numeric device
 * codes (60003 no microphone, 60004 no camera, 60005 permission denied, 60006 WebRTC unsupported),
 * which are also reported as an `ERROR` event `{code, message}`.
 *
 * Event payloads (every call event also carries `callId`):
 *   INVITED {sponsor, userIDList, inviteID, callId, callType, isFromGroup, type, timeout, group,
 *            inviteData: {callType, data}}
 *   USER_ACCEPT / USER_ENTER {userID}; USER_LEAVE {userID, reason}
 *   REJECT / LINE_BUSY {userID}; NO_RESP {userID, reason: 'timeout' | 'offline'}
 *   CALLING_CANCEL {userID}; CALLING_TIMEOUT {}
 *   CALL_END {reason, local}: reason as in protocol.md (`hangup`, `cancelled`, `rejected`,
 *            `no_answer`, `kicked_out`, `disconnected`, `logout`, ...); `local` is true when this
 *            side ended it (own hangup/cancel, logout, own connection lost or kicked out).
 *            Emitted once per call, also for one's own hangup.
 *   USER_AUDIO_AVAILABLE {userID, isAudioAvailable}; USER_VIDEO_AVAILABLE {userID, isVideoAvailable}
 *   USER_VOICE_VOLUME {volumeMap: {userID: 0..100}} about every 500 ms in a call (own id included)
 *   CALL_TYPE_CHANGED {userID, oldCallType, newCallType}
 *   SDK_READY {userID, appId, role}; MISSED_CALLS {missedCalls} (only when there are some)
 *   KICKED_OUT {reason}; ERROR {code, message}
 *
 * Contact center (docs/protocol.md, "Contact center"):
 *   Customer: `enqueue({queue, type, attributes})` opens the devices and joins a queue; the call is
 *   then like an outgoing call nobody has answered yet (state 'dialing', `hangup()` abandons it).
 *   When an agent accepts, USER_ACCEPT / USER_ENTER arrive and the agent sends the WebRTC offer.
 *   `rate({callId, rating})` after the call.
 *     QUEUE_UPDATE {callId, queue, position, estimatedWait} (also once for the enqueue ack, then
 *                  with `recorded`: the call will be recorded)
 *   Agent: an offer is an invitation for a queue call: `accept()` / `reject()` work on it; a
 *   withdrawn offer gives CALLING_CANCEL {callId, userID, reason}. `setAgentStatus(status, reason)`,
 *   `getAgentState()`, `wrapUp({callId, disposition, notes})`.
 *     OFFER {callId, queue, type, callType, customer: {userID, name, topic, language, pageUrl,
 *            attributes, verified}, waited, position, ringTimeout}
 *     AGENT_UPDATE {agent}; QUEUE_STATS {queues: [{name, waiting, longestWait, agentsAvailable}]}
 *   Supervisor: `supervisorWatch()` resolves with the live view {queues, agents, agentsByState,
 *   calls} and subscribes to its changes (renewed after a reconnection):
 *     SUPERVISOR_STATS {queues, agents, agentsByState, calls, at} at most once a second while
 *                      something changes
 *
 * Recording (docs/protocol.md, "Recording"; docs/recording.md): when the server sends
 * `record_start` for the current call, the SDK opens a second, send-only RTCPeerConnection to the
 * media worker carrying the same microphone track (and the camera when the job asks for video),
 * offers it with `record_signal` and applies the worker's answer. The leg follows the call's
 * tracks (device switch, camera on/off; mute keeps the track, so the recording is silent too) and
 * closes when the call ends. A failing recorder never affects the call itself.
 *     RECORDING {callId, state: 'started' | 'stopped', reason?}: 'started' on `record_start`;
 *               'stopped' when the call ends (reason 'call_end') or the connection to the
 *               recorder fails (reason 'failed'). `isRecording` tells the current state.
 *   getStats() then also has `recorder: {audioBytesSent, videoBytesSent, connectionState}`.
 *
 * Views: `videoViewDomID` may also be the element itself (e.g. inside a shadow root).
 */
import { io } from './vendor/socket.io.esm.min.js';

const EVENT = Object.freeze({
  INVITED: 'INVITED',
  USER_ACCEPT: 'USER_ACCEPT',
  USER_ENTER: 'USER_ENTER',
  USER_LEAVE: 'USER_LEAVE',
  REJECT: 'REJECT',
  LINE_BUSY: 'LINE_BUSY',
  NO_RESP: 'NO_RESP',
  CALLING_CANCEL: 'CALLING_CANCEL',
  CALLING_TIMEOUT: 'CALLING_TIMEOUT',
  CALL_END: 'CALL_END',
  KICKED_OUT: 'KICKED_OUT',
  USER_VIDEO_AVAILABLE: 'USER_VIDEO_AVAILABLE',
  USER_AUDIO_AVAILABLE: 'USER_AUDIO_AVAILABLE',
  USER_VOICE_VOLUME: 'USER_VOICE_VOLUME',
  CALL_TYPE_CHANGED: 'CALL_TYPE_CHANGED',
  SDK_READY: 'SDK_READY',
  ERROR: 'ERROR',
  // Ours: invitations that reached this user while offline, from the `hello` ack.
  MISSED_CALLS: 'MISSED_CALLS',
  // Contact center.
  QUEUE_UPDATE: 'QUEUE_UPDATE',
  OFFER: 'OFFER',
  AGENT_UPDATE: 'AGENT_UPDATE',
  QUEUE_STATS: 'QUEUE_STATS',
  SUPERVISOR_STATS: 'SUPERVISOR_STATS',
  // Recording: the send-only leg to the media worker.
  RECORDING: 'RECORDING',
});

const CALL_TYPE = Object.freeze({ UNKNOWN: 0, AUDIO_CALL: 1, VIDEO_CALL: 2 });

const ERROR_CODE = Object.freeze({
  NO_MICROPHONE: 60003,
  NO_CAMERA: 60004,
  PERMISSION_DENIED: 60005,
  WEBRTC_UNSUPPORTED: 60006,
});

const VIDEO_QUALITY = Object.freeze({
  '480p': { width: 640, height: 480 },
  '720p': { width: 1280, height: 720 },
  '1080p': { width: 1920, height: 1080 },
});

// Server events that belong to a call (buffered while an invite/accept awaits its ack).
const WIRE_EVENTS = [
  'invited', 'user_accept', 'user_enter', 'user_leave', 'reject', 'line_busy', 'no_resp',
  'calling_cancel', 'calling_timeout', 'call_end', 'signal', 'media_state', 'call_type_changed',
  'kicked_out', 'queue_update', 'offer', 'agent_update', 'queue_stats',
  'record_start', 'record_signal', 'supervisor_stats',
];
const NEVER_HELD = new Set(['invited', 'kicked_out', 'offer', 'agent_update', 'queue_stats',
  'supervisor_stats']);

const REQUEST_TIMEOUT_MS = 10000;
const VOLUME_INTERVAL_MS = 500;
// The offer to the recorder waits this long at most for ICE gathering (the rest trickles).
const RECORDER_GATHER_MS = 1500;

function makeError(code, message) {
  const err = new Error(message || String(code));
  err.code = code;
  return err;
}

/** The live view as the SDK hands it out: always arrays/objects, even if the server left one out. */
function liveView({ queues, agents, agentsByState, calls, at } = {}) {
  const view = {
    queues: Array.isArray(queues) ? queues : [],
    agents: Array.isArray(agents) ? agents : [],
    agentsByState: agentsByState && typeof agentsByState === 'object' ? agentsByState : {},
    calls: Array.isArray(calls) ? calls : [],
  };
  if (typeof at === 'number') view.at = at;
  return view;
}

function hasWebRTC() {
  return typeof RTCPeerConnection === 'function'
    && typeof navigator !== 'undefined'
    && !!navigator.mediaDevices
    && typeof navigator.mediaDevices.getUserMedia === 'function';
}

export class CallClient {
  static EVENT = EVENT;
  static CALL_TYPE = CALL_TYPE;
  static ERROR_CODE = ERROR_CODE;

  /**
   * @param {{server?: string, appId: string, socketOptions?: object}} options
   *   server: base URL of the callcenter server (default: location.origin).
   *   socketOptions: extra options for socket.io-client's `io()` (e.g. transports).
   */
  constructor({ server, appId, socketOptions } = {}) {
    this.EVENT = EVENT;
    this.CALL_TYPE = CALL_TYPE;
    this.ERROR_CODE = ERROR_CODE;
    this.server = server || (typeof location !== 'undefined' ? location.origin : '');
    this.appId = appId;
    this._socketOptions = socketOptions || {};
    this._listeners = new Map();
    this._socket = null;
    this._userID = null;
    this._hello = null;
    this._iceServers = [];
    this._incoming = null; // the `invited` payload this user is ringing for
    this._call = null; // {callId, type, group, role, state, entered:Set}
    this._peers = new Map(); // remote userID -> peer record
    this._recorder = null; // the send-only leg to the media worker of a recorded call
    this._holding = 0; // >0 while invite/accept awaits its ack: call events are held
    this._held = [];
    this._localAudio = null; // MediaStreamTrack
    this._localVideo = null; // MediaStreamTrack
    this._micMuted = false;
    this._videoQuality = '720p';
    this._deviceIds = { audio: null, video: null };
    this._localViews = new Map(); // userID -> DOM id
    this._remoteViews = new Map(); // userID -> DOM id
    this._volumeTimer = null;
    this._pendingPlay = new Set();
    this._playOnGesture = null;
    this._setup = null; // {aborted, promise} while call()/accept() is opening devices or waiting
    this._closing = null; // the socket logout() is closing
    this._watching = false; // supervisorWatch() was called: renew it after a reconnection
  }

  // ---------------------------------------------------------------- events

  on(event, cb) {
    if (typeof cb !== 'function') return;
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(cb);
  }

  off(event, cb) {
    const set = this._listeners.get(event);
    if (!set) return;
    if (cb === undefined) set.clear();
    else set.delete(cb);
  }

  _emit(event, data) {
    const set = this._listeners.get(event);
    if (!set) return;
    for (const cb of [...set]) {
      try {
        cb(data);
      } catch (err) {
        console.error(`[callcenter] ${event} listener failed`, err);
      }
    }
  }

  _fail(code, message) {
    const err = makeError(code, message);
    this._emit(EVENT.ERROR, { code, message: err.message });
    return err;
  }

  // ---------------------------------------------------------------- state

  /** 'idle' | 'dialing' | 'ringing' | 'connected' */
  get state() {
    if (this._call) return this._call.state;
    if (this._incoming) return 'ringing';
    if (this._setup) return 'dialing';
    return 'idle';
  }

  get userID() { return this._userID; }

  get callId() {
    return this._call ? this._call.callId : (this._incoming ? this._incoming.callId : null);
  }

  get callType() { return this._call ? this._call.type : CALL_TYPE.UNKNOWN; }

  get isLoggedIn() { return !!(this._socket && this._hello); }

  // ---------------------------------------------------------------- session

  /**
   * Connects and sends `hello`. Resolves with the hello ack
   * ({userID, appId, role, iceServers, limits, missedCalls}).
   */
  async login({ userID, userSig } = {}) {
    if (this._socket && this._hello && this._userID === userID && this._socket.connected) {
      return this._hello;
    }
    if (this._socket) await this.logout();
    if (typeof userID !== 'string' || typeof userSig !== 'string') {
      throw makeError('AUTH_REQUIRED', 'login needs {userID, userSig} strings');
    }
    this._userID = userID;
    this._watching = false; // a new session watches nothing until asked
    const socket = io(this.server, {
      autoConnect: false,
      reconnection: true,
      ...this._socketOptions,
      auth: { appId: this.appId, userID, userSig },
    });
    this._socket = socket;

    const connected = new Promise((resolve, reject) => {
      const onConnect = () => { cleanup(); resolve(); };
      const onError = (err) => {
        cleanup();
        const data = err && err.data;
        reject(makeError((data && data.code) || 'CONNECT_FAILED',
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
    try {
      await connected;
    } catch (err) {
      socket.disconnect();
      if (this._socket === socket) { this._socket = null; this._userID = null; }
      throw err;
    }

    for (const name of WIRE_EVENTS) {
      socket.on(name, (data) => this._dispatch(name, data || {}));
    }
    socket.on('disconnect', (reason) => this._onDisconnect(socket, reason));
    socket.on('connect_error', (err) => {
      // A later reconnection refused by the server (e.g. AUTH_EXPIRED): socket.io gives up.
      const data = err && err.data;
      if (data && data.code) this._emit(EVENT.ERROR, { code: data.code, message: data.message || data.code });
    });
    socket.on('connect', () => this._onReconnect(socket)); // only later connects reach this

    let ack;
    try {
      ack = await this._request('hello', {});
    } catch (err) {
      socket.disconnect();
      if (this._socket === socket) { this._socket = null; this._userID = null; }
      throw err;
    }
    this._applyHello(ack);
    this._emit(EVENT.SDK_READY, { userID: ack.userID, appId: ack.appId, role: ack.role });
    if (ack.missedCalls && ack.missedCalls.length) {
      this._emit(EVENT.MISSED_CALLS, { missedCalls: ack.missedCalls });
    }
    return ack;
  }

  /** Ends every call (server side too), then disconnects. Never rejects. */
  async logout() {
    const socket = this._socket;
    if (!socket) return;
    this._closing = socket; // the server disconnects us after the ack: not a dropped connection
    if (socket.connected) {
      try { await this._request('logout', {}, 3000); } catch (err) { /* going away anyway */ }
    }
    this._incoming = null;
    this._endCall('logout', true);
    this._stopLocalMedia();
    socket.disconnect();
    if (this._socket === socket) {
      this._socket = null;
      this._hello = null;
      this._userID = null;
      this._watching = false;
    }
  }

  _applyHello(ack) {
    this._hello = ack;
    this._iceServers = Array.isArray(ack.iceServers) ? ack.iceServers : [];
  }

  async _onReconnect(socket) {
    if (socket !== this._socket) return;
    try {
      const ack = await this._request('hello', {});
      this._applyHello(ack);
      if (ack.missedCalls && ack.missedCalls.length) {
        this._emit(EVENT.MISSED_CALLS, { missedCalls: ack.missedCalls });
      }
      // The server forgets a watcher whose connection dropped; what changed meanwhile arrives
      // as one fresh snapshot.
      if (this._watching) this._emit(EVENT.SUPERVISOR_STATS, await this.supervisorWatch());
    } catch (err) {
      this._emit(EVENT.ERROR, { code: err.code || 'INTERNAL', message: err.message });
    }
  }

  _onDisconnect(socket, reason) {
    if (socket !== this._socket || socket === this._closing) return;
    // The server ends our calls when the connection drops (reason `disconnected` for the others).
    this._incoming = null;
    this._endCall('disconnected', true);
    if (reason === 'io server disconnect') {
      // Refused or kicked: socket.io will not reconnect by itself.
      this._hello = null;
    }
  }

  async _request(event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
    const socket = this._socket;
    if (!socket) throw makeError('NOT_LOGGED_IN', 'call login() first');
    let ack;
    try {
      ack = await socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch (err) {
      throw makeError('TIMEOUT', `${event}: no answer from the server`);
    }
    if (!ack || ack.ok !== true) {
      const e = (ack && ack.error) || {};
      throw makeError(e.code || 'INTERNAL', e.message || `${event} failed`);
    }
    return ack;
  }

  // ---------------------------------------------------------------- wire events

  _dispatch(name, data) {
    if (this._holding > 0 && !NEVER_HELD.has(name)) {
      this._held.push([name, data]);
      return;
    }
    const handler = this[`_on_${name}`];
    if (!handler) return;
    try {
      const result = handler.call(this, data);
      if (result && typeof result.catch === 'function') {
        result.catch((err) => console.error(`[callcenter] handling ${name} failed`, err));
      }
    } catch (err) {
      console.error(`[callcenter] handling ${name} failed`, err);
    }
  }

  _hold() { this._holding += 1; }

  _release() {
    this._holding -= 1;
    if (this._holding > 0) return;
    const held = this._held;
    this._held = [];
    for (const [name, data] of held) this._dispatch(name, data);
  }

  _isCurrent(callId) { return !!this._call && this._call.callId === callId; }

  _on_invited(data) {
    this._incoming = data;
    this._emit(EVENT.INVITED, {
      ...data,
      sponsor: data.sponsor,
      userIDList: data.userIDList || [],
      inviteID: data.inviteID,
      callId: data.callId,
      callType: data.type,
      isFromGroup: !!data.group,
      inviteData: data.inviteData || { callType: data.type },
    });
  }

  _on_user_accept({ callId, userID }) {
    if (!this._isCurrent(callId)) return;
    if (this._call.state === 'dialing') this._call.state = 'connected';
    this._emit(EVENT.USER_ACCEPT, { callId, userID });
  }

  _on_user_enter({ callId, userID }) {
    if (!this._isCurrent(callId)) return;
    this._userEntered(userID, true);
  }

  _on_user_leave({ callId, userID, reason }) {
    if (!this._isCurrent(callId)) return;
    this._call.entered.delete(userID);
    this._closePeer(userID);
    this._emit(EVENT.USER_LEAVE, { callId, userID, reason });
  }

  _on_reject({ callId, userID }) {
    if (!this._isCurrent(callId)) return;
    this._emit(EVENT.REJECT, { callId, userID });
  }

  _on_line_busy({ callId, userID }) {
    if (!this._isCurrent(callId)) return;
    this._emit(EVENT.LINE_BUSY, { callId, userID });
  }

  _on_no_resp({ callId, userID, reason }) {
    if (!this._isCurrent(callId)) return;
    this._emit(EVENT.NO_RESP, { callId, userID, reason });
  }

  _on_calling_cancel({ callId, userID, reason }) {
    if (!this._incoming || this._incoming.callId !== callId) return;
    this._incoming = null;
    const data = { callId, userID };
    if (reason !== undefined) data.reason = reason; // offers: abandoned, taken, timeout, ...
    this._emit(EVENT.CALLING_CANCEL, data);
  }

  _on_calling_timeout({ callId }) {
    if (!this._incoming || this._incoming.callId !== callId) return;
    this._incoming = null;
    this._emit(EVENT.CALLING_TIMEOUT, { callId });
  }

  _on_call_end({ callId, reason }) {
    if (this._incoming && this._incoming.callId === callId) this._incoming = null;
    if (!this._isCurrent(callId)) return;
    this._endCall(reason, false);
  }

  _on_kicked_out({ reason }) {
    const socket = this._socket;
    this._incoming = null;
    this._endCall('kicked_out', true); // our session ended it, not the other side
    this._stopLocalMedia();
    this._hello = null;
    this._emit(EVENT.KICKED_OUT, { reason });
    if (socket) socket.disconnect();
    this._socket = null;
    this._userID = null;
  }

  _on_media_state({ callId, userID, audio, video }) {
    if (!this._isCurrent(callId)) return;
    if (typeof audio === 'boolean') {
      this._emit(EVENT.USER_AUDIO_AVAILABLE, { callId, userID, isAudioAvailable: audio });
    }
    if (typeof video === 'boolean') {
      this._emit(EVENT.USER_VIDEO_AVAILABLE, { callId, userID, isVideoAvailable: video });
    }
  }

  async _on_call_type_changed({ callId, userID, oldType, newType }) {
    if (!this._isCurrent(callId)) return;
    this._call.type = newType;
    this._emit(EVENT.CALL_TYPE_CHANGED, { callId, userID, oldCallType: oldType, newCallType: newType });
    if (newType === CALL_TYPE.AUDIO_CALL && this._localVideo) {
      await this.closeCamera();
    } else if (newType === CALL_TYPE.VIDEO_CALL && !this._localVideo) {
      try { await this.openCamera(); } catch (err) { /* ERROR already emitted */ }
    }
  }

  _on_signal({ callId, from, kind, payload }) {
    const pending = this._incoming && this._incoming.callId === callId;
    if (!this._isCurrent(callId) && !pending) return;
    const peer = this._peer(from);
    peer.chain = peer.chain.then(() => this._handleSignal(peer, kind, payload)).catch((err) => {
      console.warn(`[callcenter] signal ${kind} from ${from} failed`, err);
    });
  }

  // ---------------------------------------------------------------- recording

  _on_record_start({ callId, jobId, video }) {
    if (!this._isCurrent(callId)) return;
    this._closeRecorder(null); // a new job replaces an earlier one
    if (typeof RTCPeerConnection !== 'function') return;
    const pc = new RTCPeerConnection({ iceServers: this._iceServers, bundlePolicy: 'max-bundle' });
    const rec = {
      callId, jobId, video: !!video, pc, audioSender: null, videoSender: null,
      offerSent: false, trickle: false, remoteCandidates: [], chain: Promise.resolve(),
      sending: Promise.resolve(),
    };
    this._recorder = rec;
    rec.audioSender = pc.addTransceiver(this._localAudio || 'audio', { direction: 'sendonly' }).sender;
    if (rec.video) {
      rec.videoSender = pc.addTransceiver(this._localVideo || 'video', { direction: 'sendonly' }).sender;
    }
    pc.onicecandidate = (ev) => {
      // Candidates gathered before the offer went out are in its SDP. Later ones trickle, one
      // request after the other so they reach the worker in order; no end-of-candidates (null):
      // the worker would refuse a candidate overtaking it.
      const c = ev.candidate;
      if (!c || !c.candidate || !rec.offerSent || !rec.trickle || this._recorder !== rec) return;
      const payload = { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      rec.sending = rec.sending
        .then(() => this._request('record_signal', { callId, kind: 'candidate', payload }))
        .catch((err) => console.warn('[callcenter] record_signal candidate failed', err));
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && this._recorder === rec) {
        console.warn(`[callcenter] the connection to the recorder of ${callId} failed`);
        this._closeRecorder('failed');
      }
    };
    this._emit(EVENT.RECORDING, { callId, jobId, state: 'started' });
    rec.chain = rec.chain.then(() => this._offerRecorder(rec)).catch((err) => {
      console.warn(`[callcenter] recording of ${callId}: offer failed`, err);
      if (this._recorder === rec) this._closeRecorder('failed');
    });
  }

  async _offerRecorder(rec) {
    const { pc } = rec;
    await pc.setLocalDescription(await pc.createOffer());
    // The worker (aiortc) answers with all its candidates at once; send ours the same way when
    // gathering is quick (it is, without unreachable STUN servers), and trickle the rest.
    await this._waitGathering(pc, RECORDER_GATHER_MS);
    if (this._recorder !== rec) return;
    const { type, sdp } = pc.localDescription;
    rec.offerSent = true;
    rec.trickle = pc.iceGatheringState !== 'complete';
    const send = this._request('record_signal', { callId: rec.callId, kind: 'offer', payload: { type, sdp } });
    rec.sending = send.catch(() => {});
    await send;
  }

  _waitGathering(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      let timer = null;
      const check = () => {
        if (pc.iceGatheringState !== 'complete' && timer !== null) return;
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      };
      timer = setTimeout(() => { timer = null; check(); }, ms);
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  _on_record_signal({ callId, kind, payload }) {
    const rec = this._recorder;
    if (!rec || rec.callId !== callId) return;
    rec.chain = rec.chain.then(async () => {
      const { pc } = rec;
      if (this._recorder !== rec || pc.signalingState === 'closed') return;
      if (kind === 'answer') {
        await pc.setRemoteDescription(payload);
        const queued = rec.remoteCandidates;
        rec.remoteCandidates = [];
        for (const c of queued) await this._addRecorderCandidate(pc, c);
      } else if (kind === 'candidate') {
        if (!pc.remoteDescription) rec.remoteCandidates.push(payload);
        else await this._addRecorderCandidate(pc, payload);
      }
    }).catch((err) => console.warn(`[callcenter] record_signal ${kind} failed`, err));
  }

  async _addRecorderCandidate(pc, payload) {
    try {
      if (payload && payload.candidate) await pc.addIceCandidate(payload);
      else await pc.addIceCandidate();
    } catch (err) {
      console.warn('[callcenter] bad ICE candidate from the recorder', err);
    }
  }

  /** Closes the leg to the recorder; with a reason, emits RECORDING 'stopped'. */
  _closeRecorder(reason) {
    const rec = this._recorder;
    if (!rec) return;
    this._recorder = null;
    try { rec.pc.close(); } catch (err) { /* already closed */ }
    if (reason) this._emit(EVENT.RECORDING, { callId: rec.callId, jobId: rec.jobId, state: 'stopped', reason });
  }

  /** True while the current call is being recorded (the leg to the recorder is open). */
  get isRecording() { return !!this._recorder && this._isCurrent(this._recorder.callId); }

  /** Every sender of `key` ('audioSender' | 'videoSender'): the peers' and the recorder's. */
  _senders(key) {
    const senders = [...this._peers.values()].map((p) => p[key]);
    if (this._recorder) senders.push(this._recorder[key]);
    return senders.filter(Boolean);
  }

  // ---------------------------------------------------------------- contact-center events

  _on_queue_update({ callId, position, estimatedWait }) {
    if (!this._isCurrent(callId) || !this._call.queue) return;
    if (typeof position === 'number') this._call.position = position;
    if (typeof estimatedWait === 'number') this._call.estimatedWait = estimatedWait;
    this._emit(EVENT.QUEUE_UPDATE, {
      callId, queue: this._call.queue, position: this._call.position, estimatedWait: this._call.estimatedWait,
    });
  }

  _on_offer(data) {
    // An offer is an invitation to a queue call: accept()/reject() work on it.
    this._incoming = { ...data, group: false, offer: true };
    this._emit(EVENT.OFFER, { ...data, callType: data.type, customer: data.customer || {} });
  }

  _on_agent_update({ agent }) {
    this._emit(EVENT.AGENT_UPDATE, { agent });
  }

  _on_queue_stats({ queues }) {
    this._emit(EVENT.QUEUE_STATS, { queues: Array.isArray(queues) ? queues : [] });
  }

  _on_supervisor_stats(data) {
    this._emit(EVENT.SUPERVISOR_STATS, liveView(data));
  }

  // ---------------------------------------------------------------- calls

  /** Invites one user. timeout: seconds of ringing, 0 = none, default: the server's. */
  async call({ userID, type = CALL_TYPE.VIDEO_CALL, timeout, data } = {}) {
    return this._invite({ userIDList: [userID], type, timeout, data, group: false });
  }

  /** Invites several users into one call. */
  async groupCall({ userIDList, type = CALL_TYPE.VIDEO_CALL, timeout, data } = {}) {
    return this._invite({ userIDList, type, timeout, data, group: true });
  }

  /** Runs fn(setup) as the one call set-up in progress; hangup() can abort it. */
  async _runSetup(fn) {
    if (this._setup) throw makeError('ALREADY_IN_CALL', 'a call is being set up');
    const setup = { aborted: false, promise: null };
    this._setup = setup;
    setup.promise = (async () => {
      try {
        return await fn(setup);
      } finally {
        if (this._setup === setup) this._setup = null;
      }
    })();
    return setup.promise;
  }

  _checkAborted(setup) {
    if (setup.aborted) {
      this._stopLocalMedia();
      throw makeError('CANCELLED', 'hung up before the call was set up');
    }
  }

  async _invite({ userIDList, type, timeout, data, group }) {
    if (!this._socket) throw makeError('NOT_LOGGED_IN', 'call login() first');
    if (this._call || this._incoming) throw makeError('ALREADY_IN_CALL', 'already in a call');
    if (!Array.isArray(userIDList) || userIDList.length === 0) {
      throw makeError('BAD_REQUEST', 'no user to call');
    }
    return this._runSetup((setup) => this._doInvite(setup, { userIDList, type, timeout, data, group }));
  }

  async _doInvite(setup, { userIDList, type, timeout, data, group }) {
    await this._prepareMedia(type);
    this._checkAborted(setup);
    const payload = { userIDList, type };
    if (timeout !== undefined && timeout !== null) payload.timeout = timeout;
    if (group) payload.group = true;
    if (data !== undefined) payload.data = data;
    this._hold();
    try {
      let ack;
      try {
        ack = await this._request('invite', payload);
      } catch (err) {
        this._stopLocalMedia();
        throw err;
      }
      this._call = {
        callId: ack.callId, type, group, role: 'caller', state: 'dialing',
        invitees: [...userIDList], entered: new Set(),
      };
      return { callId: ack.callId };
    } finally {
      this._release();
    }
  }

  /** Accepts the pending invitation: joins, then offers media to everyone already in the call. */
  async accept() {
    const incoming = this._incoming;
    if (!incoming) throw makeError('NOT_INVITED', 'no invitation to accept');
    if (this._call) throw makeError('ALREADY_IN_CALL', 'already in a call');
    return this._runSetup((setup) => this._doAccept(setup, incoming));
  }

  async _doAccept(setup, incoming) {
    await this._prepareMedia(incoming.type);
    this._checkAborted(setup);
    if (this._incoming !== incoming) {
      // Cancelled or timed out while the devices were opening.
      this._stopLocalMedia();
      throw makeError('NOT_INVITED', 'the invitation is over');
    }
    this._hold();
    let ack;
    try {
      try {
        ack = await this._request('accept', { callId: incoming.callId });
      } catch (err) {
        this._stopLocalMedia();
        if (err.code === 'NOT_INVITED' || err.code === 'CALL_NOT_FOUND') {
          if (this._incoming === incoming) this._incoming = null;
        }
        this._closeAllPeers();
        throw err;
      }
      this._incoming = null;
      this._call = {
        callId: ack.callId, type: ack.type, group: !!incoming.group, role: 'callee',
        state: 'connected', invitees: [], entered: new Set(),
      };
      this._startVolume();
      this._sendMediaState(); // reaches every joined participant
      const participants = ack.participants || [];
      for (const userID of participants) this._userEntered(userID, false);
      for (const userID of participants) {
        this._offerTo(userID).catch((err) => {
          console.warn(`[callcenter] offer to ${userID} failed`, err);
        });
      }
      return { callId: ack.callId, type: ack.type, participants };
    } finally {
      this._release();
    }
  }

  // ---------------------------------------------------------------- contact center

  /**
   * Customer: opens the devices and joins a queue. Resolves with
   * {callId, queue, position, estimatedWait, recorded}; the call then waits like an unanswered outgoing call
   * (QUEUE_UPDATE while waiting; `hangup()` abandons it).
   */
  async enqueue({ queue, type = CALL_TYPE.VIDEO_CALL, attributes } = {}) {
    if (!this._socket) throw makeError('NOT_LOGGED_IN', 'call login() first');
    if (this._call || this._incoming) throw makeError('ALREADY_IN_CALL', 'already in a call');
    return this._runSetup((setup) => this._doEnqueue(setup, { queue, type, attributes }));
  }

  async _doEnqueue(setup, { queue, type, attributes }) {
    await this._prepareMedia(type);
    this._checkAborted(setup);
    const payload = { queue, type };
    if (attributes !== undefined) payload.attributes = attributes;
    this._hold();
    try {
      let ack;
      try {
        ack = await this._request('enqueue', payload);
      } catch (err) {
        this._stopLocalMedia();
        throw err;
      }
      this._call = {
        callId: ack.callId, type, group: false, role: 'caller', state: 'dialing',
        invitees: [], entered: new Set(), queue: ack.queue || queue,
        position: ack.position, estimatedWait: ack.estimatedWait, recorded: !!ack.recorded,
      };
      const result = {
        callId: ack.callId, queue: this._call.queue, position: ack.position, estimatedWait: ack.estimatedWait,
        recorded: !!ack.recorded,
      };
      this._emit(EVENT.QUEUE_UPDATE, { ...result });
      return result;
    } finally {
      this._release();
    }
  }

  /** Customer: rates an ended call 1-5. Resolves with the ack. */
  async rate({ callId, rating } = {}) {
    return this._request('rate', { callId, rating });
  }

  /** Agent: 'available' | 'break' (with a reason code) | 'offline'. Resolves with the snapshot. */
  async setAgentStatus(status, reason) {
    const payload = { status };
    if (reason !== undefined && reason !== null && reason !== '') payload.reason = reason;
    const ack = await this._request('agent_status', payload);
    return ack.agent;
  }

  /** Agent: {agent, queues, callsToday}. */
  async getAgentState() {
    const ack = await this._request('agent_state', {});
    return { agent: ack.agent, queues: ack.queues || [], callsToday: ack.callsToday || [] };
  }

  /** Agent: records the wrap-up of a call (disposition, notes) and ends wrap-up at once. */
  async wrapUp({ callId, disposition, notes } = {}) {
    const payload = { callId };
    if (disposition !== undefined && disposition !== null && disposition !== '') payload.disposition = disposition;
    if (notes !== undefined && notes !== null && notes !== '') payload.notes = notes;
    return this._request('wrap_up', payload);
  }

  /**
   * Supervisor: the live view of the app right now, {queues, agents, agentsByState, calls};
   * SUPERVISOR_STATS events follow whenever it changes.
   */
  async supervisorWatch() {
    const ack = await this._request('supervisor_watch', {});
    this._watching = true;
    return liveView(ack);
  }

  /** Refuses the pending invitation. Never rejects. */
  async reject() {
    const incoming = this._incoming;
    if (!incoming) return;
    this._incoming = null;
    try {
      await this._request('reject', { callId: incoming.callId });
    } catch (err) {
      if (err.code !== 'NOT_INVITED' && err.code !== 'CALL_NOT_FOUND') {
        console.warn('[callcenter] reject failed', err);
      }
    }
  }

  /** Cancels an unanswered call, leaves a connected one, or refuses a ringing one. Never rejects. */
  async hangup() {
    const setup = this._setup;
    if (setup) {
      // call()/accept() in flight: stop it before it goes further, then end what it set up.
      setup.aborted = true;
      try { await setup.promise; } catch (err) { /* reported to its own caller */ }
    }
    const call = this._call;
    if (!call) {
      await this.reject();
      return;
    }
    if (this._socket && this._socket.connected) {
      try {
        await this._request('hangup', { callId: call.callId }, 5000);
      } catch (err) {
        if (err.code !== 'CALL_NOT_FOUND' && err.code !== 'NOT_IN_CALL') {
          console.warn('[callcenter] hangup failed', err);
        }
      }
    }
    if (this._call === call) {
      this._endCall(call.state === 'dialing' ? 'cancelled' : 'hangup', true);
    }
  }

  _userEntered(userID, announce = true) {
    const call = this._call;
    if (!call || userID === this._userID || call.entered.has(userID)) return;
    call.entered.add(userID);
    if (call.state === 'dialing') call.state = 'connected';
    this._startVolume();
    this._emit(EVENT.USER_ENTER, { callId: call.callId, userID });
    // Let the newcomer know what we are sending (relayed to every joined participant).
    if (announce) this._sendMediaState();
  }

  /** Local teardown; emits CALL_END once per call. `local` is true when this side ended it. */
  _endCall(reason, local) {
    const call = this._call;
    if (!call) {
      this._closeRecorder(null);
      this._closeAllPeers();
      return;
    }
    this._call = null;
    this._stopVolume();
    this._closeRecorder('call_end');
    this._closeAllPeers();
    this._stopLocalMedia();
    this._emit(EVENT.CALL_END, { callId: call.callId, reason, local: !!local });
  }

  // ---------------------------------------------------------------- WebRTC

  _peer(userID) {
    let peer = this._peers.get(userID);
    if (peer) return peer;
    const pc = new RTCPeerConnection({ iceServers: this._iceServers, bundlePolicy: 'max-bundle' });
    peer = {
      userID, pc, chain: Promise.resolve(), remoteCandidates: [], localCandidates: [],
      descriptionSent: false, audioSender: null, videoSender: null,
      remoteStream: new MediaStream(), audioEl: null, videoEls: new Set(),
    };
    this._peers.set(userID, peer);
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      const payload = c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null;
      if (peer.descriptionSent) this._sendCandidate(peer, payload);
      else peer.localCandidates.push(payload);
    };
    pc.ontrack = (ev) => {
      if (!peer.remoteStream.getTracks().includes(ev.track)) peer.remoteStream.addTrack(ev.track);
      ev.track.onunmute = () => this._renderRemote(userID);
      this._renderRemote(userID);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') {
        console.warn(`[callcenter] media connection with ${userID} failed`);
      }
    };
    return peer;
  }

  _sendSignal(peer, kind, payload) {
    const call = this._call;
    const callId = call ? call.callId : (this._incoming && this._incoming.callId);
    if (!callId || !this._socket) return Promise.resolve();
    return this._request('signal', { callId, to: peer.userID, kind, payload }).catch((err) => {
      console.warn(`[callcenter] signal ${kind} to ${peer.userID} failed`, err);
    });
  }

  _sendCandidate(peer, payload) {
    this._sendSignal(peer, 'candidate', payload);
  }

  _descriptionSent(peer) {
    peer.descriptionSent = true;
    const queued = peer.localCandidates;
    peer.localCandidates = [];
    for (const payload of queued) this._sendCandidate(peer, payload);
  }

  async _flushRemoteCandidates(peer) {
    const queued = peer.remoteCandidates;
    peer.remoteCandidates = [];
    for (const c of queued) await this._addCandidate(peer, c);
  }

  async _addCandidate(peer, payload) {
    try {
      if (payload && payload.candidate) await peer.pc.addIceCandidate(payload);
      else await peer.pc.addIceCandidate();
    } catch (err) {
      console.warn('[callcenter] bad ICE candidate', err);
    }
  }

  async _offerTo(userID) {
    const peer = this._peer(userID);
    peer.chain = peer.chain.then(async () => {
      const { pc } = peer;
      peer.audioSender = pc.addTransceiver(this._localAudio || 'audio', { direction: 'sendrecv' }).sender;
      peer.videoSender = pc.addTransceiver(this._localVideo || 'video', { direction: 'sendrecv' }).sender;
      await pc.setLocalDescription(await pc.createOffer());
      const { type, sdp } = pc.localDescription;
      this._sendSignal(peer, 'offer', { type, sdp });
      this._descriptionSent(peer);
    });
    return peer.chain;
  }

  async _handleSignal(peer, kind, payload) {
    const { pc } = peer;
    if (pc.signalingState === 'closed') return;
    if (kind === 'offer') {
      await pc.setRemoteDescription(payload);
      for (const t of pc.getTransceivers()) {
        const k = t.receiver.track && t.receiver.track.kind;
        if (k === 'audio' && !peer.audioSender) {
          t.direction = 'sendrecv';
          peer.audioSender = t.sender;
          await t.sender.replaceTrack(this._localAudio);
        } else if (k === 'video' && !peer.videoSender) {
          t.direction = 'sendrecv';
          peer.videoSender = t.sender;
          await t.sender.replaceTrack(this._localVideo);
        }
      }
      await pc.setLocalDescription(await pc.createAnswer());
      const { type, sdp } = pc.localDescription;
      this._sendSignal(peer, 'answer', { type, sdp });
      this._descriptionSent(peer);
      await this._flushRemoteCandidates(peer);
    } else if (kind === 'answer') {
      await pc.setRemoteDescription(payload);
      await this._flushRemoteCandidates(peer);
    } else if (kind === 'candidate') {
      if (!pc.remoteDescription) peer.remoteCandidates.push(payload);
      else await this._addCandidate(peer, payload);
    }
  }

  _closePeer(userID) {
    const peer = this._peers.get(userID);
    if (!peer) return;
    this._peers.delete(userID);
    try { peer.pc.close(); } catch (err) { /* already closed */ }
    for (const t of peer.remoteStream.getTracks()) t.stop();
    if (peer.audioEl) {
      peer.audioEl.srcObject = null;
      peer.audioEl.remove();
      this._pendingPlay.delete(peer.audioEl);
    }
    this._clearRemoteView(userID);
  }

  _closeAllPeers() {
    for (const userID of [...this._peers.keys()]) this._closePeer(userID);
  }

  // ---------------------------------------------------------------- local media

  async _getTrack(kind) {
    if (!hasWebRTC()) {
      throw this._fail(ERROR_CODE.WEBRTC_UNSUPPORTED, 'this browser does not support WebRTC (or the page is not a secure context)');
    }
    let constraints;
    if (kind === 'audio') {
      constraints = { audio: this._deviceIds.audio ? { deviceId: { exact: this._deviceIds.audio } } : true };
    } else {
      const q = VIDEO_QUALITY[this._videoQuality] || VIDEO_QUALITY['720p'];
      const video = { width: { ideal: q.width }, height: { ideal: q.height } };
      if (this._deviceIds.video) video.deviceId = { exact: this._deviceIds.video };
      constraints = { video };
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      return kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    } catch (err) {
      const name = err && err.name;
      if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
        throw this._fail(ERROR_CODE.PERMISSION_DENIED, `${kind === 'audio' ? 'microphone' : 'camera'} permission denied`);
      }
      if (kind === 'audio') throw this._fail(ERROR_CODE.NO_MICROPHONE, `no usable microphone (${name || err})`);
      throw this._fail(ERROR_CODE.NO_CAMERA, `no usable camera (${name || err})`);
    }
  }

  /** Opens the microphone, and the camera for a video call (closes it for an audio call). */
  async _prepareMedia(type) {
    if (!hasWebRTC()) {
      throw this._fail(ERROR_CODE.WEBRTC_UNSUPPORTED, 'this browser does not support WebRTC (or the page is not a secure context)');
    }
    if (!this._localAudio || this._localAudio.readyState === 'ended') {
      this._localAudio = await this._getTrack('audio');
      this._localAudio.enabled = !this._micMuted;
    }
    if (type === CALL_TYPE.VIDEO_CALL) {
      if (!this._localVideo || this._localVideo.readyState === 'ended') {
        try {
          this._localVideo = await this._getTrack('video');
        } catch (err) {
          this._stopLocalMedia();
          throw err;
        }
      }
    } else if (this._localVideo) {
      this._localVideo.stop();
      this._localVideo = null;
    }
    this._renderLocal();
  }

  _stopLocalMedia() {
    if (this._localAudio) { this._localAudio.stop(); this._localAudio = null; }
    if (this._localVideo) { this._localVideo.stop(); this._localVideo = null; }
    this._renderLocal();
  }

  _sendMediaState(extra) {
    const call = this._call;
    if (!call || !this._socket) return;
    const payload = extra || {
      audio: !!this._localAudio && !this._micMuted,
      video: !!this._localVideo,
    };
    this._request('media_state', { callId: call.callId, ...payload }).catch((err) => {
      console.warn('[callcenter] media_state failed', err);
    });
  }

  async openCamera() {
    if (this._localVideo && this._localVideo.readyState === 'live') return;
    const track = await this._getTrack('video');
    this._localVideo = track;
    await Promise.all(this._senders('videoSender').map((s) => s.replaceTrack(track)));
    this._renderLocal();
    this._sendMediaState({ video: true });
  }

  async closeCamera() {
    const track = this._localVideo;
    this._localVideo = null;
    await Promise.all(this._senders('videoSender').map((s) => s.replaceTrack(null)));
    if (track) track.stop();
    this._renderLocal();
    this._sendMediaState({ video: false });
  }

  async setMicMute(mute) {
    this._micMuted = !!mute;
    if (this._localAudio) this._localAudio.enabled = !this._micMuted;
    this._sendMediaState({ audio: !!this._localAudio && !this._micMuted });
  }

  get isMicMuted() { return this._micMuted; }

  get isCameraOn() { return !!this._localVideo; }

  async setVideoQuality(quality) {
    if (!VIDEO_QUALITY[quality]) throw makeError('BAD_REQUEST', `unknown video quality ${quality}`);
    this._videoQuality = quality;
    if (this._localVideo) {
      const q = VIDEO_QUALITY[quality];
      try {
        await this._localVideo.applyConstraints({ width: { ideal: q.width }, height: { ideal: q.height } });
      } catch (err) { /* applies to the next camera instead */ }
    }
  }

  async getCameras() {
    if (!hasWebRTC()) throw this._fail(ERROR_CODE.WEBRTC_UNSUPPORTED, 'WebRTC unsupported');
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
  }

  async getMicrophones() {
    if (!hasWebRTC()) throw this._fail(ERROR_CODE.WEBRTC_UNSUPPORTED, 'WebRTC unsupported');
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
  }

  /** deviceType 'video' | 'audio'; switches a live track at once, otherwise applies to the next one. */
  async switchDevice({ deviceType, deviceId } = {}) {
    if (deviceType !== 'video' && deviceType !== 'audio') {
      throw makeError('BAD_REQUEST', "deviceType must be 'video' or 'audio'");
    }
    const previous = this._deviceIds[deviceType];
    this._deviceIds[deviceType] = deviceId || null;
    const old = deviceType === 'audio' ? this._localAudio : this._localVideo;
    if (!old) return;
    let track;
    try {
      track = await this._getTrack(deviceType);
    } catch (err) {
      this._deviceIds[deviceType] = previous;
      throw err;
    }
    const senderKey = deviceType === 'audio' ? 'audioSender' : 'videoSender';
    if (deviceType === 'audio') {
      track.enabled = !this._micMuted;
      this._localAudio = track;
    } else {
      this._localVideo = track;
    }
    await Promise.all(this._senders(senderKey).map((s) => s.replaceTrack(track)));
    old.stop();
    this._renderLocal();
  }

  // ---------------------------------------------------------------- views

  /** Renders the local camera into the element with id videoViewDomID (a <video> or a container). */
  async startLocalView({ userID, videoViewDomID } = {}) {
    this._localViews.set(userID || this._userID, videoViewDomID);
    this._renderLocal();
  }

  async stopLocalView({ userID } = {}) {
    const key = userID || this._userID;
    const domId = this._localViews.get(key);
    this._localViews.delete(key);
    if (domId) this._detachView(domId);
  }

  /** Renders a remote user's video into the element with id videoViewDomID. */
  async startRemoteView({ userID, videoViewDomID } = {}) {
    this._remoteViews.set(userID, videoViewDomID);
    this._renderRemote(userID);
  }

  async stopRemoteView({ userID } = {}) {
    const domId = this._remoteViews.get(userID);
    this._remoteViews.delete(userID);
    if (domId) this._detachView(domId);
  }

  _viewElement(ref) {
    if (ref && typeof ref === 'object' && ref.nodeType === 1) return ref; // the element itself
    return typeof document !== 'undefined' && typeof ref === 'string' ? document.getElementById(ref) : null;
  }

  _videoFor(domId) {
    const el = this._viewElement(domId);
    if (!el) return null;
    if (el.tagName === 'VIDEO') return el;
    let video = el.querySelector('video[data-callcenter]');
    if (!video) {
      video = document.createElement('video');
      video.dataset.callcenter = '1';
      video.className = 'callcenter-video';
      el.appendChild(video);
    }
    return video;
  }

  _attach(video, tracks) {
    // Videos are always muted: remote sound plays through a separate <audio> per peer.
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    if (!tracks.length) {
      video.srcObject = null;
      return;
    }
    const current = video.srcObject;
    const same = current && current.getTracks().length === tracks.length
      && tracks.every((t) => current.getTracks().includes(t));
    if (!same) video.srcObject = new MediaStream(tracks);
    const p = video.play();
    if (p && p.catch) p.catch(() => {});
  }

  _detachView(domId) {
    const el = this._viewElement(domId);
    if (!el) return;
    if (el.tagName === 'VIDEO') {
      el.srcObject = null;
    } else {
      const video = el.querySelector('video[data-callcenter]');
      if (video) { video.srcObject = null; video.remove(); }
    }
  }

  _renderLocal() {
    for (const domId of this._localViews.values()) {
      const video = this._videoFor(domId);
      if (video) this._attach(video, this._localVideo ? [this._localVideo] : []);
    }
  }

  _renderRemote(userID) {
    const peer = this._peers.get(userID);
    if (!peer || typeof document === 'undefined') return;
    const audio = peer.remoteStream.getAudioTracks();
    if (audio.length) {
      if (!peer.audioEl) {
        peer.audioEl = document.createElement('audio');
        peer.audioEl.autoplay = true;
        peer.audioEl.dataset.callcenterAudio = userID;
        peer.audioEl.style.display = 'none';
        document.body.appendChild(peer.audioEl);
      }
      if (!peer.audioEl.srcObject) {
        peer.audioEl.srcObject = new MediaStream(audio);
        this._play(peer.audioEl);
      }
    }
    const domId = this._remoteViews.get(userID);
    if (domId) {
      const video = this._videoFor(domId);
      if (video) this._attach(video, peer.remoteStream.getVideoTracks());
    }
  }

  _clearRemoteView(userID) {
    const domId = this._remoteViews.get(userID);
    if (domId) this._detachView(domId);
  }

  /** Plays an element; if autoplay is refused, retries on the next user gesture. */
  _play(el) {
    const p = el.play();
    if (!p || !p.catch) return;
    p.catch((err) => {
      if (!err || err.name !== 'NotAllowedError') return;
      this._pendingPlay.add(el);
      if (this._playOnGesture) return;
      this._playOnGesture = () => {
        for (const pending of this._pendingPlay) pending.play().catch(() => {});
        this._pendingPlay.clear();
        document.removeEventListener('click', this._playOnGesture, true);
        document.removeEventListener('keydown', this._playOnGesture, true);
        this._playOnGesture = null;
      };
      document.addEventListener('click', this._playOnGesture, true);
      document.addEventListener('keydown', this._playOnGesture, true);
    });
  }

  // ---------------------------------------------------------------- call type

  async switchToAudioCall() { return this._switchType(CALL_TYPE.AUDIO_CALL); }

  async switchToVideoCall() { return this._switchType(CALL_TYPE.VIDEO_CALL); }

  async _switchType(type) {
    const call = this._call;
    if (!call) throw makeError('NOT_IN_CALL', 'not in a call');
    if (call.type === type) return { oldType: type, newType: type };
    if (type === CALL_TYPE.VIDEO_CALL && !this._localVideo) {
      await this.openCamera(); // fails (60004/60005) before anything changes on the server
    }
    const ack = await this._request('switch_type', { callId: call.callId, type });
    return { oldType: ack.oldType, newType: ack.newType };
  }

  // ---------------------------------------------------------------- statistics

  _startVolume() {
    if (this._volumeTimer) return;
    this._volumeTimer = setInterval(() => {
      this._measureVolume().catch(() => {});
    }, VOLUME_INTERVAL_MS);
  }

  _stopVolume() {
    if (this._volumeTimer) clearInterval(this._volumeTimer);
    this._volumeTimer = null;
  }

  async _measureVolume() {
    if (!this._call || this._peers.size === 0) return;
    const volumeMap = {};
    let local = null;
    for (const [userID, peer] of this._peers) {
      const report = await peer.pc.getStats();
      let level = 0;
      report.forEach((s) => {
        if (s.kind !== 'audio' || typeof s.audioLevel !== 'number') return;
        if (s.type === 'inbound-rtp') level = Math.max(level, s.audioLevel);
        else if (s.type === 'media-source') local = Math.max(local || 0, s.audioLevel);
      });
      volumeMap[userID] = Math.round(Math.min(1, level) * 100);
    }
    if (this._userID) {
      volumeMap[this._userID] = this._micMuted || local === null ? 0 : Math.round(Math.min(1, local) * 100);
    }
    if (this._call) this._emit(EVENT.USER_VOICE_VOLUME, { volumeMap });
  }

  /**
   * Byte counters per remote user, from RTCPeerConnection.getStats():
   * {userID: {audioBytesReceived, videoBytesReceived, audioBytesSent, videoBytesSent}}, and while
   * the call is recorded `recorder: {audioBytesSent, videoBytesSent, connectionState}` (the
   * send-only leg to the media worker).
   */
  async getStats() {
    const result = {};
    for (const [userID, peer] of this._peers) {
      const s = { audioBytesReceived: 0, videoBytesReceived: 0, audioBytesSent: 0, videoBytesSent: 0 };
      const report = await peer.pc.getStats();
      report.forEach((r) => {
        const kind = r.kind || r.mediaType;
        if (kind !== 'audio' && kind !== 'video') return;
        if (r.type === 'inbound-rtp') s[`${kind}BytesReceived`] += r.bytesReceived || 0;
        else if (r.type === 'outbound-rtp') s[`${kind}BytesSent`] += r.bytesSent || 0;
      });
      result[userID] = s;
    }
    const rec = this._recorder;
    if (rec) {
      const s = { audioBytesSent: 0, videoBytesSent: 0, connectionState: rec.pc.connectionState };
      const report = await rec.pc.getStats();
      report.forEach((r) => {
        const kind = r.kind || r.mediaType;
        if (r.type === 'outbound-rtp' && (kind === 'audio' || kind === 'video')) {
          s[`${kind}BytesSent`] += r.bytesSent || 0;
        }
      });
      if (this._recorder === rec) result.recorder = s;
    }
    return result;
  }
}

if (typeof window !== 'undefined') window.CallClient = CallClient;

export default CallClient;
