/**
 * trtc-calling-js compatibility: a page written for Tencent's `trtc-calling-js` 1.0.6 runs on
 * callcenter by changing its import (docs/from-tuicalling.md):
 *
 *   import TRTCCalling from 'https://calls.example.com/sdk/trtc-calling.js';
 *   const trtcCalling = new TRTCCalling({ SDKAppID: 1400000001 });
 *   trtcCalling.on(TRTCCalling.EVENT.INVITED, ({ sponsor, inviteData }) => ...);
 *   await trtcCalling.login({ userID, userSig });   // a Tencent UserSig, or our credential
 *
 * The class has trtc-calling-js's surface, as ../shared/reference/tuicalling-api.md lists it:
 * static and instance `EVENT` and `CALL_TYPE` with Tencent's exact values, the same methods, and
 * every event's payload in Tencent's shape. `SDKAppID` is the app's `sdk_app_id` (docs/config.md);
 * the server is the one this file was loaded from, or `server` in the constructor's options.
 * `tim` is accepted and not used (there is no Tencent IM underneath). What callcenter adds
 * (queues, hold, reconnection events) is on `CallClient` (./callcenter.js); `callClient` here is
 * that client. Loaded as a module, this file also sets `window.TRTCCalling`; a plain `<script>`
 * tag loads ./trtc-calling.global.js instead.
 */
import { CallClient } from './callcenter.js';

// Tencent's values (trtc-calling-js 1.0.6), name -> value.
const EVENT = Object.freeze({
  ERROR: 'onError',
  SDK_READY: 'sdkReady',
  INVITED: 'onInvited',
  USER_ACCEPT: 'onUserAccept',
  USER_ENTER: 'onUserEnter',
  USER_LEAVE: 'onUserLeave',
  REJECT: 'onReject',
  NO_RESP: 'onNoResp',
  LINE_BUSY: 'onLineBusy',
  CALLING_CANCEL: 'onCallingCancel',
  KICKED_OUT: 'onKickedOut',
  CALLING_TIMEOUT: 'onCallingTimeout',
  CALL_END: 'onCallEnd',
  CALLING_END: 'onCallEnd',
  USER_VIDEO_AVAILABLE: 'onUserVideoAvailable',
  USER_AUDIO_AVAILABLE: 'onUserAudioAvailable',
  USER_VOICE_VOLUME: 'onUserVoiceVolume',
  GROUP_CALL_INVITEE_LIST_UPDATE: 'onGroupCallInviteeListUpdate',
});
// A TypeScript enum, as theirs: the names give the numbers and the numbers the names.
const CALL_TYPE = Object.freeze({
  UNKNOWN: 0, AUDIO_CALL: 1, VIDEO_CALL: 2, 0: 'UNKNOWN', 1: 'AUDIO_CALL', 2: 'VIDEO_CALL',
});
// Tencent's codes for a failed switch between audio and video (the device codes 60003-60006
// come from CallClient as they are).
const SWITCH_TO_AUDIO_FAILED = 60001;
const SWITCH_TO_VIDEO_FAILED = 60002;
// What TUICalling's invitations say their signalling version is.
const INVITE_VERSION = 4;

/** A number for the call, as Tencent's invitations carry a TRTC room number. */
function roomOf(callId) {
  let h = 0;
  for (const ch of String(callId)) h = (h * 31 + ch.charCodeAt(0)) % 2147483647;
  return h;
}

export default class TRTCCalling {
  static EVENT = EVENT;

  static CALL_TYPE = CALL_TYPE;

  /**
   * @param {{SDKAppID: number|string, tim?: object, server?: string, socketOptions?: object}} options
   */
  constructor({ SDKAppID, server, socketOptions } = {}) {
    this.EVENT = EVENT;
    this.CALL_TYPE = CALL_TYPE;
    this.SDKAppID = SDKAppID;
    this.callClient = new CallClient({
      server: server || new URL('../', import.meta.url).href, appId: String(SDKAppID), socketOptions,
    });
    this._listeners = new Map(); // Tencent event value -> [{cb, ctx}]
    this._logLevel = 0;
    // The call as Tencent's payloads describe it: who invited whom, and since when it talks.
    this._call = { sponsor: null, invitees: [], connectedAt: null, lastLeft: null };
    this._wire();
  }

  // ---------------------------------------------------------------- events

  on(event, cb, ctx) {
    if (typeof cb !== 'function') return;
    if (!this._listeners.has(event)) this._listeners.set(event, []);
    this._listeners.get(event).push({ cb, ctx });
  }

  off(event, cb, ctx) {
    const list = this._listeners.get(event);
    if (!list) return;
    this._listeners.set(event, list.filter((l) => !(l.cb === cb && (ctx === undefined || l.ctx === ctx))));
  }

  _emit(event, payload) {
    if (this._logLevel > 0) console.info(`[trtc-calling] ${event}`, payload);
    for (const { cb, ctx } of [...(this._listeners.get(event) || [])]) {
      try {
        cb.call(ctx, payload);
      } catch (err) {
        console.error(`[trtc-calling] a handler of ${event} failed`, err);
      }
    }
  }

  _inviteesLeft(userID) {
    const call = this._call;
    const before = call.invitees.length;
    call.invitees = call.invitees.filter((u) => u !== userID);
    if (call.invitees.length !== before && call.group) {
      this._emit(EVENT.GROUP_CALL_INVITEE_LIST_UPDATE, { userIDList: [...call.invitees] });
    }
  }

  _wire() {
    const c = this.callClient;
    const E = CallClient.EVENT;
    const call = this._call;
    c.on(E.SDK_READY, () => this._emit(EVENT.SDK_READY, {}));
    c.on(E.INVITED, (d) => {
      Object.assign(call, { sponsor: d.sponsor, invitees: [...(d.userIDList || [])], group: !!d.isFromGroup,
        connectedAt: null, lastLeft: null });
      this._emit(EVENT.INVITED, {
        sponsor: d.sponsor, userIDList: [...(d.userIDList || [])], isFromGroup: !!d.isFromGroup,
        inviteID: d.inviteID,
        inviteData: { version: INVITE_VERSION, callType: d.callType, callEnd: 0, roomID: roomOf(d.callId) },
      });
    });
    c.on(E.USER_ACCEPT, ({ userID }) => {
      this._inviteesLeft(userID);
      this._emit(EVENT.USER_ACCEPT, { userID });
    });
    c.on(E.USER_ENTER, ({ userID }) => {
      if (call.connectedAt === null) call.connectedAt = Date.now();
      this._emit(EVENT.USER_ENTER, { userID });
    });
    c.on(E.USER_LEAVE, ({ userID }) => {
      call.lastLeft = userID;
      this._emit(EVENT.USER_LEAVE, { userID });
    });
    c.on(E.REJECT, ({ userID }) => {
      this._inviteesLeft(userID);
      this._emit(EVENT.REJECT, { userID });
    });
    c.on(E.NO_RESP, ({ userID }) => {
      this._inviteesLeft(userID);
      this._emit(EVENT.NO_RESP, { sponsor: call.sponsor, userIDList: [userID] });
    });
    c.on(E.LINE_BUSY, ({ userID }) => {
      this._inviteesLeft(userID);
      this._emit(EVENT.LINE_BUSY, { sponsor: call.sponsor, userID });
    });
    c.on(E.CALLING_CANCEL, () => this._emit(EVENT.CALLING_CANCEL, {}));
    c.on(E.CALLING_TIMEOUT, () => {
      this._emit(EVENT.CALLING_TIMEOUT, { sponsor: call.sponsor, userIDList: [this.callClient.userID] });
    });
    c.on(E.CALL_END, ({ local }) => {
      // callEnd: how long the call talked, in seconds (0 if it never connected).
      const callEnd = call.connectedAt === null ? 0 : Math.round((Date.now() - call.connectedAt) / 1000);
      const userID = local ? this.callClient.userID : (call.lastLeft || call.sponsor || '');
      Object.assign(call, { connectedAt: null, invitees: [] });
      this._emit(EVENT.CALL_END, { userID, callEnd });
    });
    c.on(E.KICKED_OUT, () => this._emit(EVENT.KICKED_OUT, {}));
    c.on(E.USER_VIDEO_AVAILABLE, ({ userID, isVideoAvailable }) => {
      this._emit(EVENT.USER_VIDEO_AVAILABLE, { userID, isVideoAvailable });
    });
    c.on(E.USER_AUDIO_AVAILABLE, ({ userID, isAudioAvailable }) => {
      this._emit(EVENT.USER_AUDIO_AVAILABLE, { userID, isAudioAvailable });
    });
    c.on(E.USER_VOICE_VOLUME, ({ volumeMap }) => this._emit(EVENT.USER_VOICE_VOLUME, { volumeMap }));
    c.on(E.ERROR, ({ code, message }) => this._emit(EVENT.ERROR, { code, msg: message }));
  }

  // ---------------------------------------------------------------- session and calls

  /** Tencent's levels (0 all … 5 none): above 0, every event is also logged to the console. */
  setLogLevel(level) { this._logLevel = Number(level) || 0; }

  async login({ userID, userSig } = {}) { return this.callClient.login({ userID, userSig }); }

  async logout() { return this.callClient.logout(); }

  async call({ userID, type, timeout } = {}) {
    Object.assign(this._call, { sponsor: this.callClient.userID, invitees: [userID], group: false,
      connectedAt: null, lastLeft: null });
    return this.callClient.call({ userID, type, timeout });
  }

  /** `groupID` names Tencent's IM group; here the call is the group (the ids say who). */
  async groupCall({ userIDList, type, timeout } = {}) {
    Object.assign(this._call, { sponsor: this.callClient.userID, invitees: [...(userIDList || [])],
      group: true, connectedAt: null, lastLeft: null });
    return this.callClient.groupCall({ userIDList, type, timeout });
  }

  /** Both forms work: `accept()` (1.0.6) and `accept({inviteID, roomID, callType})` (the demo). */
  async accept() { return this.callClient.accept(); }

  /** Both forms work: `reject()` and `reject({inviteID, isBusy, callType})`. */
  async reject() { return this.callClient.reject(); }

  async hangup() { return this.callClient.hangup(); }

  // ---------------------------------------------------------------- views and devices

  async startRemoteView(options) { return this.callClient.startRemoteView(options); }

  async stopRemoteView(options) { return this.callClient.stopRemoteView(options); }

  async startLocalView(options) { return this.callClient.startLocalView(options); }

  async stopLocalView(options) { return this.callClient.stopLocalView(options); }

  async openCamera() { return this.callClient.openCamera(); }

  async closeCamera() { return this.callClient.closeCamera(); }

  async setMicMute(isMute) { return this.callClient.setMicMute(isMute); }

  async setVideoQuality(profile) { return this.callClient.setVideoQuality(profile); }

  async switchToAudioCall() { return this._switch(() => this.callClient.switchToAudioCall(), SWITCH_TO_AUDIO_FAILED); }

  async switchToVideoCall() { return this._switch(() => this.callClient.switchToVideoCall(), SWITCH_TO_VIDEO_FAILED); }

  async _switch(action, code) {
    try {
      return await action();
    } catch (err) {
      const msg = err && err.message ? err.message : String(err);
      this._emit(EVENT.ERROR, { code, msg });
      throw Object.assign(new Error(msg), { code, cause: err });
    }
  }

  async getCameras() { return this.callClient.getCameras(); }

  async getMicrophones() { return this.callClient.getMicrophones(); }

  async switchDevice(options) { return this.callClient.switchDevice(options); }
}

export { EVENT, CALL_TYPE };

if (typeof window !== 'undefined' && !window.TRTCCalling) window.TRTCCalling = TRTCCalling;
