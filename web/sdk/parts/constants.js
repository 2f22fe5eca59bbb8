// The SDK's public constants (CallClient.EVENT, CALL_TYPE, ERROR_CODE), named as TUICalling names
// them so that its users can switch by changing an import.

export const EVENT = Object.freeze({
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
  QUEUE_ANSWERED: 'QUEUE_ANSWERED',
  OFFER: 'OFFER',
  AGENT_UPDATE: 'AGENT_UPDATE',
  QUEUE_STATS: 'QUEUE_STATS',
  SUPERVISOR_STATS: 'SUPERVISOR_STATS',
  // Recording: the send-only leg to the media worker.
  RECORDING: 'RECORDING',
  // Resume (docs/protocol.md): {callId, userID} someone's connection dropped / they are back. With
  // this user's own id: our connection dropped and the SDK is resuming / resumed the session.
  RECONNECTING: 'RECONNECTING',
  RECONNECTED: 'RECONNECTED',
  // Media watch (media-watch.js, docs/protocol.md `media_flow`): {callId, userID, by} media from
  // userID stopped reaching `by` (no inbound bytes for ~3 s), or reaches them again.
  MEDIA_STALLED: 'MEDIA_STALLED',
  MEDIA_FLOWING: 'MEDIA_FLOWING',
  // ICE restart (media-reconnect.js, docs/protocol.md "ICE restart"): {callId, userID} the media
  // path with userID broke and is being restarted / works again / was not back within ~30 s.
  MEDIA_RECONNECTING: 'MEDIA_RECONNECTING',
  MEDIA_RECONNECTED: 'MEDIA_RECONNECTED',
  MEDIA_RECONNECT_FAILED: 'MEDIA_RECONNECT_FAILED',
  // Hold and transfer (docs/protocol.md, "Call control"): {callId, userID, music, transfer, local}
  // `userID` put the call on hold (`transfer`: or transferred it, naming the target), and back.
  CALL_HELD: 'CALL_HELD',
  MONITOR_STARTED: 'MONITOR_STARTED',
  MONITOR_CHANGED: 'MONITOR_CHANGED',
  MONITOR_ENDED: 'MONITOR_ENDED',
  CALL_RESUMED: 'CALL_RESUMED',
  // A consult (warm transfer) is over: {callId, userID (the colleague), outcome}.
  CONSULT_ENDED: 'CONSULT_ENDED',
});

export const CALL_TYPE = Object.freeze({ UNKNOWN: 0, AUDIO_CALL: 1, VIDEO_CALL: 2 });

// TUICalling's numeric device codes; every other error code is a string (see callcenter.js).
export const ERROR_CODE = Object.freeze({
  NO_MICROPHONE: 60003,
  NO_CAMERA: 60004,
  PERMISSION_DENIED: 60005,
  WEBRTC_UNSUPPORTED: 60006,
});
