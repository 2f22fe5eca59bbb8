/**
 * trtc-calling-js for a plain `<script>` tag, as Tencent's UMD build is used:
 *
 *   <script src="https://calls.example.com/sdk/trtc-calling.global.js"></script>
 *   <script> const trtcCalling = new TRTCCalling({ SDKAppID: 1400000001 }); ... </script>
 *
 * A classic script cannot import a module synchronously, so this sets `window.TRTCCalling` at
 * once to a stand-in with the constants and methods of ./trtc-calling.js: `on`/`off` are kept
 * until the module has loaded, and every other method (they all return Promises) waits for it.
 * Its EVENT and CALL_TYPE are a copy of the module's (a test holds the two together).
 */
(function standIn() {
  const here = document.currentScript ? document.currentScript.src : window.location.href;
  const loading = import(new URL('./trtc-calling.js', here).href);
  const EVENT = Object.freeze({
    ERROR: 'onError', SDK_READY: 'sdkReady', INVITED: 'onInvited', USER_ACCEPT: 'onUserAccept',
    USER_ENTER: 'onUserEnter', USER_LEAVE: 'onUserLeave', REJECT: 'onReject', NO_RESP: 'onNoResp',
    LINE_BUSY: 'onLineBusy', CALLING_CANCEL: 'onCallingCancel', KICKED_OUT: 'onKickedOut',
    CALLING_TIMEOUT: 'onCallingTimeout', CALL_END: 'onCallEnd', CALLING_END: 'onCallEnd',
    USER_VIDEO_AVAILABLE: 'onUserVideoAvailable', USER_AUDIO_AVAILABLE: 'onUserAudioAvailable',
    USER_VOICE_VOLUME: 'onUserVoiceVolume',
    GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate',
  });
  // A TypeScript enum, as theirs: the names give the numbers and the numbers the names.
  const CALL_TYPE = Object.freeze({
    UNKNOWN: 0, AUDIO_CALL: 1, VIDEO_CALL: 2, 0: 'UNKNOWN', 1: 'AUDIO_CALL', 2: 'VIDEO_CALL',
  });
  const METHODS = ['login', 'logout', 'call', 'groupCall', 'accept', 'reject', 'hangup',
    'startRemoteView', 'stopRemoteView', 'startLocalView', 'stopLocalView', 'openCamera',
    'closeCamera', 'setMicMute', 'setVideoQuality', 'switchToAudioCall', 'switchToVideoCall',
    'getCameras', 'getMicrophones', 'switchDevice'];

  class TRTCCalling {
    constructor(options) {
      this.EVENT = EVENT;
      this.CALL_TYPE = CALL_TYPE;
      this._early = []; // on/off/setLogLevel calls made before the module loaded
      this._real = null;
      this._ready = loading.then(({ default: Real }) => {
        const real = new Real(options);
        for (const [name, args] of this._early) real[name](...args);
        this._early = [];
        this._real = real;
        return real;
      });
    }

    get callClient() { return this._real ? this._real.callClient : null; }
  }
  for (const name of ['on', 'off', 'setLogLevel']) {
    TRTCCalling.prototype[name] = function early(...args) {
      if (this._real) this._real[name](...args);
      else this._early.push([name, args]);
    };
  }
  for (const name of METHODS) {
    TRTCCalling.prototype[name] = async function later(...args) {
      return (await this._ready)[name](...args);
    };
  }
  TRTCCalling.EVENT = EVENT;
  TRTCCalling.CALL_TYPE = CALL_TYPE;
  window.TRTCCalling = TRTCCalling;
}());
