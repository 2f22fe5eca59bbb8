// What the customer is told when a call cannot start or ends other than by hanging up: by the
// SDK's and the server's error codes (docs/protocol.md) and the call's end reasons.

const MESSAGES = {
  cancelled: 'You left the queue.',
  queue_timeout: 'Sorry, nobody could take your call in time. Please try again later.',
  no_agents: 'Nobody is available to take calls right now. Please try again later.',
  NO_AGENTS: 'Nobody is available to take calls right now. Please try again later.',
  QUEUE_FULL: 'All our lines are busy. Please try again in a few minutes.',
  UNKNOWN_QUEUE: 'This call button is not set up correctly (unknown queue).',
  UNKNOWN_APP: 'This call button is not set up correctly (unknown app).',
  FORBIDDEN_ORIGIN: 'Calls are not enabled on this website.',
  FORBIDDEN: 'Calls are not enabled for this account.',
  RATE_LIMITED: 'Too many attempts. Please wait a minute and try again.',
  ALREADY_IN_CALL: 'You already have a call in progress (maybe in another window).',
  AUTH_EXPIRED: 'Your session has expired. Please reload the page and try again.',
  AUTH_INVALID: 'We could not sign you in. Please reload the page and try again.',
  NETWORK: 'We could not reach our call service. Please check your connection and try again.',
  CONNECT_FAILED: 'We could not reach our call service. Please check your connection and try again.',
  TIMEOUT: 'Our call service did not answer. Please try again.',
  disconnected: 'The connection was lost and the call ended.',
  reconnecting_self: 'Connection lost. Reconnecting…',
  reconnecting_agent: 'The agent\'s connection dropped. Waiting for them to come back…',
  unheard: 'The agent can\'t hear you — checking your connection…',
  on_hold: 'You are on hold. Please stay on the line.',
  transferring: 'Transferring you — please stay on the line.',
  kicked_out: 'This call continued in another window.',
  logout: 'The call ended.',
  60003: 'We could not find a microphone. Please connect one and try again.',
  60004: 'We could not find a camera. Try an audio call instead.',
  60005: 'Please allow access to your microphone (and camera) to call us.',
  60006: 'This browser cannot make calls here (WebRTC unavailable, or the page is not secure).',
};
/** The text for `code`; for a code without one, `fallback` or a general apology. */
export function messageFor(code, fallback) {
  if (code !== undefined && code !== null && Object.prototype.hasOwnProperty.call(MESSAGES, code)) {
    return MESSAGES[code];
  }
  return fallback || `Something went wrong${code ? ` (${code})` : ''}. Please try again.`;
}
