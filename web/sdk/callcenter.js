/**
 * callcenter browser SDK: a framework-free ES module served at /sdk/callcenter.js.
 *
 *   import CallClient from '/sdk/callcenter.js';
 *   const client = new CallClient({appId: 'demo'});          // server: where this file came from
 *   client.on(CallClient.EVENT.INVITED, ({sponsor, inviteData}) => ...);
 *   await client.login({userID: 'alice', userSig});
 *   await client.call({userID: 'bob', type: CallClient.CALL_TYPE.VIDEO_CALL, timeout: 30});
 *
 * The API mirrors TUICalling/TRTCCalling for the web (method and event names); see
 * docs/protocol.md for the wire protocol it speaks over Socket.IO.
 *
 * Media: a mesh of RTCPeerConnections, one per remote participant. The participant who accepts
 * sends an offer to everybody already in the call; joined participants only answer. ICE
 * candidates trickle through `signal` (kind `candidate`). A signal whose ack a dropped connection
 * took is sent again after the resume, and a copy that arrives twice is handled once
 * (signal-outbox.js). Each connection is created with one
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
 *   MEDIA_STALLED / MEDIA_FLOWING {callId, userID, by}: media from `userID` stopped reaching `by`
 *            (no inbound RTP bytes for ~3 s; a muted microphone still sends, so mute is not a
 *            stall) or reaches them again. With `by` our own id, the SDK saw it (getStats(),
 *            once a second) and told the server (`media_flow`); otherwise the server relayed
 *            what `by` saw, e.g. the agent receives nothing from us. The server keeps the
 *            silent seconds out of the call's talk time (docs/protocol.md, `media_flow`).
 *   MEDIA_RECONNECTING / MEDIA_RECONNECTED / MEDIA_RECONNECT_FAILED {callId, userID}: the ICE
 *            connection with `userID` failed, or stayed disconnected for 2 s (`media.reconnect`
 *            in the constructor), while signaling is up (a changed network, a relay that
 *            restarted): the SDK restarts ICE, with backoff, for up to 30 s; then it works again,
 *            or did not come back in time (the call goes on: hang up, or wait). Both sides see
 *            them; the one that sent the connection's first offer restarts (docs/protocol.md,
 *            "ICE restart").
 *   RECONNECTING / RECONNECTED {callId, userID}: someone's connection dropped and they may come
 *            back (docs/protocol.md, "Resume"), or they did; with our own userID, our connection
 *            dropped and the SDK is resuming the session, or did: the call goes on. A resume that
 *            fails ends the call (CALL_END, reason `disconnected`, local).
 *
 * Contact center (docs/protocol.md, "Contact center"):
 *   Customer: `enqueue({queue, type, attributes})` opens the devices and joins a queue; the call is
 *   then like an outgoing call nobody has answered yet (state 'dialing', `hangup()` abandons it).
 *   When an agent accepts, USER_ACCEPT / USER_ENTER arrive and the agent sends the WebRTC offer.
 *   `rate({callId, rating})` after the call. `requestCallback({name, email, phone, note})` while
 *   waiting (the queue's `callbackAfter`, in the enqueue ack and QUEUE_UPDATE, says from which
 *   estimated wait it is offered): the call keeps its place in line without us on it (CALL_END,
 *   reason 'callback', local); when an agent takes it we are rung as by an invitation: INVITED
 *   with `callback: {agent: {userID, name}, queue}`, and `accept()` connects the queue call.
 *     QUEUE_UPDATE {callId, queue, position, estimatedWait, ringing} (also once for the enqueue
 *                  ack, then with `recorded`: the call will be recorded). estimatedWait is null
 *                  while no agent staffs the queue; ringing is true while an agent's phone rings
 *                  for the call
 *     QUEUE_ANSWERED {callId, agent: {userID, name}}: who answered (after USER_ACCEPT); a page
 *                  that took the call up after a reload finds it in the hello ack's `call.agent`
 *   Agent: an offer is an invitation for a queue call: `accept()` / `reject()` work on it; a
 *   withdrawn offer gives CALLING_CANCEL {callId, userID, reason}. `setAgentStatus(status, reason)`,
 *   `getAgentState()`, `wrapUp({callId, disposition, notes})`.
 *     OFFER {callId, queue, type, callType, customer: {userID, name, topic, language, pageUrl,
 *            attributes, verified}, waited, position, ringTimeout}
 *     AGENT_UPDATE {agent}; QUEUE_STATS {queues: [{name, waiting, longestWait, agentsAvailable}]}
 *   Hold and transfer (docs/protocol.md, "Call control"): `hold()` / `unhold()` (an agent of a
 *   queue call, either side of a direct one), `transfer({toAgent | toQueue, note})` (the agent
 *   leaves at once: CALL_END reason 'transferred', local), `getTransferTargets()`. While on hold
 *   both sides send silence and black frames (disabled clones of their tracks: no renegotiation,
 *   no stall) and the held side plays the music in a loop; `holdState` tells it.
 *     CALL_HELD {callId, userID, music, transfer, local}: `userID` put the call on hold (`transfer`
 *               {agent | queue}: transferred it; the music plays while its target is sought)
 *     CALL_RESUMED {callId, userID, local}: the hold is over
 *     OFFER of a transfer also has `transfer: {from: {userID, name}, note, returned}`; of a
 *           consult, `consult: {from: {userID, name}, note}`
 *   Warm transfer (agents): `consult({toAgent, note})` holds the customer and rings the
 *   colleague; `consultComplete()` hands the customer over (CALL_END 'transferred', local),
 *   `conference()` makes it a call of three, `consultCancel()` goes back to the customer.
 *     CONSULT_ENDED {callId, userID, outcome}: 'completed', 'conference', 'cancelled', or
 *               'failed' (the colleague did not answer, refused or left; the customer stays
 *               on hold: unhold())
 *   Supervisor: `supervisorWatch()` resolves with the live view {queues, agents, agentsByState,
 *   calls} and subscribes to its changes (renewed after a reconnection):
 *     SUPERVISOR_STATS {queues, agents, agentsByState, calls, at} at most once a second while
 *                      something changes (each call has `monitoredBy: [{userID, name, mode}]`)
 *   Monitoring (docs/protocol.md, "Supervisor monitoring"): a supervisor's `monitor({callId,
 *   mode})` listens to an answered queue call ('listen': heard by nobody), whispers to its agent
 *   ('whisper') or barges in ('barge': heard by both); called again with another mode it
 *   switches, `stopMonitor()` ends it; `monitorState` tells it. The supervisor's page connects to
 *   the agent's page only (monitor-link.js: one RTCPeerConnection; the customer's page never has
 *   one with the supervisor). It asks for the microphone on the first whisper or barge; in listen
 *   it sends no track at all. The agent's SDK does its part by itself: it sends its microphone
 *   and the customer's voice, plays the supervisor in whisper and barge, and in barge sends the
 *   customer a mix of its microphone and the supervisor. Both sides get:
 *     MONITOR_STARTED / MONITOR_CHANGED {callId, supervisor: {userID, name}, agent, customer,
 *               mode, shown, local}: `shown` false where the app hides monitoring from agents
 *               (`monitoring_shown`): the console should not show it then
 *     MONITOR_ENDED {callId, supervisor, agent, mode, shown, reason, local}: reason 'stopped',
 *               'call_ended', 'transferred', 'agent_left' (a conference they left goes on) or
 *               'supervisor_gone' (the supervisor's connection
 *               dropped or logged out; the supervisor's own SDK ends it too)
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
 *
 * This file is the CallClient: the session, the life of a call and the API above. What it is
 * made of is in ./parts/ (plain ES modules, imported relatively, so a page of any origin that
 * imports this file gets them from the same server): constants.js (EVENT, CALL_TYPE,
 * ERROR_CODE), errors.js, emitter.js (on/off), connection.js (Socket.IO and its acks),
 * local-media.js (microphone and camera), views.js (where video and sound go), peer-mesh.js (the
 * call's RTCPeerConnections), recorder-leg.js (the leg to the media worker), media-stats.js
 * (voice levels and byte counters), media-watch.js (whether media still arrives from each peer),
 * live-view.js (the supervisor's view), media-reconnect.js (ICE restarts), signal-outbox.js
 * (signals until acked).
 */
import { CALL_TYPE, ERROR_CODE, EVENT } from './parts/constants.js';
import { connected, openSocket, request, REQUEST_TIMEOUT_MS } from './parts/connection.js';
import { Emitter } from './parts/emitter.js';
import { sdkError } from './parts/errors.js';
import { liveView } from './parts/live-view.js';
import { LocalMedia } from './parts/local-media.js';
import { byteCounters, voiceLevels } from './parts/media-stats.js';
import { MediaReconnect } from './parts/media-reconnect.js';
import { MediaWatch } from './parts/media-watch.js';
import { AgentMonitorLink, SupervisorMonitorLink } from './parts/monitor-link.js';
import { OnHold } from './parts/on-hold.js';
import { PeerMesh } from './parts/peer-mesh.js';
import { preCallCheck } from './parts/pre-call-check.js';
import { RecorderLeg } from './parts/recorder-leg.js';
import { SignalOutbox } from './parts/signal-outbox.js';
import { Views } from './parts/views.js';

// Server events that belong to a call (buffered while an invite/accept awaits its ack).
const WIRE_EVENTS = [
  'invited', 'user_accept', 'user_enter', 'user_leave', 'reject', 'line_busy', 'no_resp',
  'calling_cancel', 'calling_timeout', 'call_end', 'signal', 'media_state', 'call_type_changed',
  'kicked_out', 'queue_update', 'queue_answered', 'offer', 'agent_update', 'queue_stats',
  'record_start', 'record_signal', 'supervisor_stats', 'reconnecting', 'reconnected',
  'media_flow', 'call_held', 'call_resumed', 'connect_to', 'consult_ended',
  'monitor_started', 'monitor_changed', 'monitor_ended',
];
const NEVER_HELD = new Set(['invited', 'kicked_out', 'offer', 'agent_update', 'queue_stats',
  'supervisor_stats']);

const VOLUME_INTERVAL_MS = 500;

export class CallClient extends Emitter {
  static EVENT = EVENT;
  static CALL_TYPE = CALL_TYPE;
  static ERROR_CODE = ERROR_CODE;

  /**
   * @param {{server?: string, appId: string, socketOptions?: object}} options
   *   server: base URL of the callcenter server, a sub-path included when a proxy serves it under
   *     one ("https://www.example.com/callcenter"); default: the server this file was loaded
   *     from (the folder above /sdk/).
   *   socketOptions: extra options for socket.io-client's `io()` (e.g. transports).
   *   media: {reconnect: {disconnectedMs, giveUpMs}}: how long an ICE connection may stay
   *     `disconnected` before it is restarted (default 2000 ms), and for how long restarts are
   *     tried before MEDIA_RECONNECT_FAILED (default 30000 ms).
   */
  constructor({ server, appId, socketOptions, media = {} } = {}) {
    super();
    this.EVENT = EVENT;
    this.CALL_TYPE = CALL_TYPE;
    this.ERROR_CODE = ERROR_CODE;
    this.server = server || new URL('../', import.meta.url).href;
    this.appId = appId;
    this._socketOptions = socketOptions || {};
    this._socket = null;
    this._userID = null;
    this._hello = null;
    // From the hello ack: the STUN/TURN servers (TURN credentials minted for this user) and
    // whether only relayed paths may be used ('relay', so no side learns the other's address).
    this._rtc = { iceServers: [], iceTransportPolicy: 'all' };
    this._incoming = null; // the `invited` payload this user is ringing for
    this._call = null; // {callId, type, group, role, state, entered:Set}
    this._recorder = null; // the RecorderLeg of a recorded call
    // Monitoring (monitor-link.js): the agent's or the supervisor's side of the connection
    // between them, with the session as the server told it ({callId, supervisor, agent, mode,
    // shown}).
    this._monitor = null;
    this._holding = 0; // >0 while invite/accept awaits its ack: call events are held
    this._held = [];
    this._media = new LocalMedia((code, message) => this._fail(code, message));
    this._views = new Views();
    // Hold (on-hold.js): while on hold the peers get silent clones of our tracks, and the held
    // side plays the music.
    this._onHold = new OnHold({
      peers: () => this._mesh.peers,
      tracks: () => ({ audio: this._media.audio, video: this._media.video }),
      base: this.server,
    });
    this._mesh = new PeerMesh({
      rtcConfig: () => this._rtc,
      tracks: (userID) => (this._onHold.mutes(userID) ? this._onHold.muted()
        : { audio: this._media.audio, video: this._media.video }),
      sendSignal: (userID, kind, payload) => this._sendSignal(userID, kind, payload),
      onTrack: (userID, stream) => {
        this._views.renderRemote(userID, stream);
        this._followMonitor();
      },
      onClose: (userID) => { this._views.dropRemote(userID); this._reconnect.forget(userID); },
      onIceState: (userID, state) => this._reconnect.iceState(userID, state),
    });
    // ICE restarts of the call's connections (media-reconnect.js; only each connection's
    // offerer restarts, peer-mesh.js), and new legs to the recorder: aiortc cannot restart ICE,
    // so a broken leg is opened again as after a reload (`_on_record_start`), and the worker
    // replaces the old one.
    const reconnect = media.reconnect || {};
    this._reconnect = new MediaReconnect({
      ...reconnect,
      restart: (userID) => this._mesh.restartIce(userID),
      onChange: (userID, state) => this._mediaReconnect(userID, state),
    });
    this._recorderReconnect = new MediaReconnect({
      ...reconnect,
      restart: () => this._reopenRecorder(),
      onChange: (key, state) => { if (state === 'failed') this._closeRecorder('failed'); },
    });
    // Signals not yet acked, sent again after a resume (signal-outbox.js); and the ids of the
    // signals received in this call, so that such a copy is dropped here.
    this._signals = new SignalOutbox((message) => {
      if (!this._socket || !this._socket.connected) {
        // Down (the disconnect not seen yet): kept for the resume rather than left to
        // socket.io's own buffer, which would send it before the older ones sent again.
        return Promise.reject(sdkError('TIMEOUT', 'signal: not connected'));
      }
      return this._request('signal', message);
    });
    this._signalsSeen = new Set();
    this._volumeTimer = null;
    this._watch = new MediaWatch({
      peers: () => this._mesh.peers,
      onChange: (callId, userID, flowing) => this._mediaFlow({ callId, userID, by: this._userID, flowing }),
      report: (callId, userID, flowing, silentFor) => this._request('media_flow', {
        callId, userID, flowing, ...(silentFor === undefined ? {} : { silentFor }),
      }),
    });
    this._setup = null; // {aborted, promise} while call()/accept() is opening devices or waiting
    this._closing = null; // the socket logout() is closing
    this._watching = false; // supervisorWatch() was called: renew it after a reconnection
    // Resume: the session's token from the hello ack, the last event number seen, and the
    // timer that gives up on the call when the window passes without a reconnection.
    this._resume = { token: null, window: 0, lastSeq: 0, timer: null };
  }

  _fail(code, message) {
    const err = sdkError(code, message);
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
   * ({userID, appId, role, iceServers, limits, missedCalls, resumeToken, resumeWindow}).
   *
   * A new page of the same tab (a reload, or the next page of a site) carries the session on by
   * passing what the old page kept of `client.session`: `resumeToken` and `lastSeq`. The ack then
   * says `resumed: true` with `call`, the call the user is in (null if none, e.g. it ended
   * meanwhile: its CALL_END follows). The SDK takes the call up again at once: `state`, `callId`
   * and `callType` are those of the call, the devices open, and the media joins the others in a
   * new connection (docs/protocol.md, "Resume from a new page").
   */
  async login({ userID, userSig, resumeToken, lastSeq } = {}) {
    if (this._socket && this._hello && this._userID === userID && this._socket.connected) {
      return this._hello;
    }
    if (this._socket) await this.logout();
    if (typeof userID !== 'string' || typeof userSig !== 'string') {
      throw sdkError('AUTH_REQUIRED', 'login needs {userID, userSig} strings');
    }
    this._userID = userID;
    this._watching = false; // a new session watches nothing until asked
    const auth = { appId: this.appId, userID, userSig };
    this._resume = {
      token: typeof resumeToken === 'string' ? resumeToken : null, window: 0,
      lastSeq: Number.isInteger(lastSeq) && lastSeq > 0 ? lastSeq : 0, timer: null,
    };
    // Read on every (re)connection: a reconnection asks to resume the session.
    const socket = openSocket(this.server, (cb) => cb(this._resume.token
      ? { ...auth, resumeToken: this._resume.token, lastSeq: this._resume.lastSeq } : auth),
    this._socketOptions);
    this._socket = socket;
    try {
      await connected(socket);
    } catch (err) {
      this._dropSocket(socket);
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
      this._dropSocket(socket);
      throw err;
    }
    this._applyHello(ack);
    if (ack.resumed === true && ack.call && !this._call) this._rejoin(ack.call);
    this._emit(EVENT.SDK_READY, { userID: ack.userID, appId: ack.appId, role: ack.role });
    if (ack.missedCalls && ack.missedCalls.length) {
      this._emit(EVENT.MISSED_CALLS, { missedCalls: ack.missedCalls });
    }
    return ack;
  }

  /**
   * What a new page of this tab needs to carry the session on ({userID, resumeToken, lastSeq}
   * for `login`, with the credential the page keeps itself, and resumeWindow: the seconds the
   * server waits for it); null when not logged in. Keep it where the tab keeps it
   * (sessionStorage, on `pagehide`), never in a URL.
   */
  get session() {
    if (!this._hello || !this._resume.token) return null;
    return {
      userID: this._userID, resumeToken: this._resume.token, lastSeq: this._resume.lastSeq,
      resumeWindow: this._resume.window,
    };
  }

  /**
   * The call of a resumed session, from a page that had no copy of it: the call is taken up
   * again, the devices open, and the media joins each participant in a new connection (their
   * old one was with the page that went). Call events wait until the devices are open.
   */
  _rejoin(view) {
    const participants = Array.isArray(view.participants) ? view.participants : [];
    const call = {
      callId: view.callId, type: view.type, group: !!view.group, role: view.role,
      state: participants.length ? 'connected' : 'dialing',
      invitees: Array.isArray(view.invitees) ? view.invitees : [], entered: new Set(),
    };
    if (view.queue) {
      Object.assign(call, {
        queue: view.queue, position: view.position, estimatedWait: view.estimatedWait, recorded: !!view.recorded,
        callbackAfter: view.callbackAfter ?? null,
      });
    }
    this._call = call;
    this._hold();
    (async () => {
      try {
        await this._prepareMedia(view.type);
      } catch (err) {
        console.warn('[callcenter] the devices did not open again after the reload', err);
      }
      if (this._call !== call) return;
      for (const userID of participants) this._userEntered(userID, false);
      if (participants.length) this._sendMediaState();
      for (const userID of participants) {
        this._mesh.offerTo(userID, { rejoin: true }).catch((err) => {
          console.warn(`[callcenter] offer to ${userID} failed`, err);
        });
        this._watch.expect(userID); // media-watch.js: a peer that never answers is a stall
      }
      if (view.recording) this._on_record_start({ callId: call.callId, ...view.recording });
      if (view.hold) await this._startHold({ callId: call.callId, ...view.hold });
      // A supervisor monitors the call: the new page offers them its media again.
      if (view.monitor) this._on_monitor_started({ ...view.monitor, callId: call.callId }, { rejoin: true });
    })().finally(() => this._release());
  }

  /** A login that failed halfway: the socket goes, and with it the user unless another login came. */
  _dropSocket(socket) {
    socket.disconnect();
    if (this._socket === socket) { this._socket = null; this._userID = null; }
  }

  /** Ends every call (server side too), then disconnects. Never rejects. */
  async logout() {
    const socket = this._socket;
    if (!socket) return;
    this._closing = socket; // the server disconnects us after the ack: not a dropped connection
    clearTimeout(this._resume.timer);
    this._resume = { token: null, window: 0, lastSeq: 0, timer: null };
    if (socket.connected) {
      try { await this._request('logout', {}, 3000); } catch (err) { /* going away anyway */ }
    }
    this._incoming = null;
    this._endCall('logout', true);
    this._closeMonitor({ reason: 'supervisor_gone' }, true, SupervisorMonitorLink);
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
    this._rtc = {
      iceServers: Array.isArray(ack.iceServers) ? ack.iceServers : [],
      iceTransportPolicy: ack.iceTransportPolicy === 'relay' ? 'relay' : 'all',
    };
    if (typeof ack.resumeToken === 'string') this._resume.token = ack.resumeToken;
    this._resume.window = Number(ack.resumeWindow) || 0;
    if (ack.resumed === false) this._resume.lastSeq = 0; // a new session numbers from 1
  }

  async _onReconnect(socket) {
    if (socket !== this._socket) return;
    try {
      const ack = await this._request('hello', {});
      this._applyHello(ack);
      this._resumed(ack.resumed === true);
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
    this._signals.pause(); // until the session is back (`_resumed`), or the call is over
    const resumable = reason !== 'io server disconnect' && this._resume.token && this._resume.window > 0;
    if (resumable && this._call) {
      // The server keeps the session for the window and socket.io reconnects by itself: the
      // call goes on (its media is browser to browser) unless the window passes.
      const { callId } = this._call;
      clearTimeout(this._resume.timer);
      this._resume.timer = setTimeout(() => {
        this._resume.timer = null;
        if (this._isCurrent(callId)) this._endCall('disconnected', true);
      }, this._resume.window * 1000);
      this._emit(EVENT.RECONNECTING, { callId, userID: this._userID });
      return;
    }
    // The server ends a supervisor's monitoring when their connection drops.
    this._closeMonitor({ reason: 'supervisor_gone' }, true, SupervisorMonitorLink);
    // Without resume the server ends our calls (reason `disconnected` for the others).
    this._incoming = null;
    this._endCall('disconnected', true);
    if (reason === 'io server disconnect') {
      // Refused or kicked: socket.io will not reconnect by itself.
      this._hello = null;
    }
  }

  /** After a reconnection's hello: the call goes on, or (not resumed) it ended meanwhile. */
  _resumed(resumed) {
    clearTimeout(this._resume.timer);
    this._resume.timer = null;
    if (resumed) this._signals.resume();
    else this._signals.clear(); // a new session: the call they were for has ended
    if (!this._call) return;
    if (resumed) {
      this._emit(EVENT.RECONNECTED, { callId: this._call.callId, userID: this._userID });
    } else {
      this._incoming = null;
      this._endCall('disconnected', true);
    }
  }

  _on_reconnecting({ callId, userID }) {
    if (this._isCurrent(callId)) this._emit(EVENT.RECONNECTING, { callId, userID });
  }

  _on_reconnected({ callId, userID }) {
    if (this._isCurrent(callId)) this._emit(EVENT.RECONNECTED, { callId, userID });
  }

  async _request(event, payload, timeoutMs = REQUEST_TIMEOUT_MS) {
    if (!this._socket) throw sdkError('NOT_LOGGED_IN', 'call login() first');
    return request(this._socket, event, payload, timeoutMs);
  }

  // ---------------------------------------------------------------- wire events

  _dispatch(name, data) {
    if (typeof data.seq === 'number') {
      // The event's number is the connection's business (resume), not the event's content.
      this._resume.lastSeq = Math.max(this._resume.lastSeq, data.seq);
      delete data.seq;
    }
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
    this._mesh.close(userID);
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

  /** media_flow: what another participant saw of the media (ours, or someone else's). */
  _on_media_flow({ callId, userID, by, flowing }) {
    if (this._isCurrent(callId)) this._mediaFlow({ callId, userID, by, flowing: !!flowing });
  }

  /** The ICE connection with `userID` is being restarted, came back, or did not in time. */
  _mediaReconnect(userID, state) {
    const call = this._call;
    if (!call) return;
    const event = { reconnecting: EVENT.MEDIA_RECONNECTING, reconnected: EVENT.MEDIA_RECONNECTED,
      failed: EVENT.MEDIA_RECONNECT_FAILED }[state];
    this._emit(event, { callId: call.callId, userID });
  }

  _mediaFlow({ callId, userID, by, flowing }) {
    this._emit(flowing ? EVENT.MEDIA_FLOWING : EVENT.MEDIA_STALLED, { callId, userID, by });
  }

  async _on_call_type_changed({ callId, userID, oldType, newType }) {
    if (!this._isCurrent(callId)) return;
    this._call.type = newType;
    this._emit(EVENT.CALL_TYPE_CHANGED, { callId, userID, oldCallType: oldType, newCallType: newType });
    if (newType === CALL_TYPE.AUDIO_CALL && this._media.video) {
      await this.closeCamera();
    } else if (newType === CALL_TYPE.VIDEO_CALL && !this._media.video) {
      try { await this.openCamera(); } catch (err) { /* ERROR already emitted */ }
    }
  }

  _on_signal({ callId, from, kind, payload, id }) {
    if (this._monitorSignal({ callId, from, kind, payload })) return;
    const pending = this._incoming && this._incoming.callId === callId;
    if (!this._isCurrent(callId) && !pending) return;
    if (typeof id === 'string') {
      // The sender sent it again after its connection dropped, but the first one came through.
      const key = `${from} ${id}`;
      if (this._signalsSeen.has(key)) return;
      this._signalsSeen.add(key);
    }
    this._mesh.signal(from, kind, payload);
  }

  // ---------------------------------------------------------------- hold and transfer

  _on_call_held({ callId, userID, music, transfer }) {
    if (!this._isCurrent(callId)) return;
    this._startHold({ callId, by: userID, music: music || null, transfer: transfer || null });
  }

  _on_call_resumed({ callId, userID }) {
    if (!this._isCurrent(callId) || !this._onHold.held) return;
    this._stopHold(userID, false);
  }

  /** A consult became a transfer or a conference: we offer media to the customer we join. */
  _on_connect_to({ callId, userID }) {
    if (!this._isCurrent(callId) || !userID) return;
    this._userEntered(userID, true);
    this._mesh.offerTo(userID).catch((err) => console.warn(`[callcenter] offer to ${userID} failed`, err));
    this._watch.expect(userID);
  }

  /** The colleague we consulted did not answer, refused or left; the customer stays on hold. */
  _on_consult_ended({ callId, userID }) {
    if (!this._isCurrent(callId)) return;
    this._call.consult = null;
    this._emit(EVENT.CONSULT_ENDED, { callId, userID, outcome: 'failed' });
  }

  async _startHold(state) {
    await this._onHold.start(state);
    const { callId, by, music, transfer } = this._onHold.state || state;
    this._emit(EVENT.CALL_HELD, {
      callId, userID: by, music: music || null, transfer: transfer || null, local: by === this._userID,
    });
  }

  async _stopHold(userID, local) {
    const held = this._onHold.state;
    await this._onHold.stop();
    this._followMonitor(); // a barge's mix goes back on the customer's sender
    if (held) this._emit(EVENT.CALL_RESUMED, { callId: held.callId, userID, local });
  }

  /** The call's hold: {callId, by, since, music, transfer}, or null when it is not on hold. */
  get holdState() { return this._onHold.state ? { ...this._onHold.state } : null; }

  /**
   * Puts the other side on hold (a queue call: as its agent). They hear the hold music and
   * neither side's media reaches the other until `unhold()`.
   */
  async hold() {
    const call = this._requireCall();
    const ack = await this._request('hold', { callId: call.callId });
    if (this._call === call && !this._onHold.held) {
      await this._startHold({ callId: call.callId, by: this._userID, music: null });
    }
    return { callId: call.callId, heldAt: ack.heldAt };
  }

  async unhold() {
    const call = this._requireCall();
    const ack = await this._request('unhold', { callId: call.callId });
    if (this._call === call) await this._stopHold(this._userID, true);
    return { callId: call.callId, held: ack.held };
  }

  /**
   * A blind transfer of the current queue call (agents): to `toAgent` or to the queue
   * `toQueue`, with a `note` for whoever takes it. This side leaves the call at once
   * (CALL_END, reason 'transferred', local).
   */
  async transfer({ toAgent, toQueue, note } = {}) {
    const call = this._requireCall();
    const payload = { callId: call.callId, note: note || '' };
    if (toAgent) payload.toAgent = toAgent;
    if (toQueue) payload.toQueue = toQueue;
    const ack = await this._request('transfer', payload);
    if (this._call === call) this._endCall('transferred', true);
    return { callId: call.callId, to: ack.to, queue: ack.queue };
  }

  /**
   * A warm transfer's first half (agents): the customer on hold hears the music, and
   * `toAgent` is rung; once they answer, the two agents talk alone. Then consultComplete()
   * (they take the customer; this side leaves), conference() (all three talk) or
   * consultCancel() (back to the customer).
   */
  async consult({ toAgent, note } = {}) {
    const call = this._requireCall();
    const others = [...this._mesh.peers.keys()];
    await this._request('consult', { callId: call.callId, toAgent, note: note || '' });
    if (this._call !== call) return { callId: call.callId };
    call.consult = toAgent;
    if (!this._onHold.held) {
      await this._startHold({ callId: call.callId, by: this._userID, music: null, only: others });
    }
    return { callId: call.callId, to: toAgent };
  }

  async consultCancel() { return this._endConsult('consult_cancel', 'cancelled'); }

  async consultComplete() { return this._endConsult('consult_complete', 'completed'); }

  async conference() { return this._endConsult('conference', 'conference'); }

  async _endConsult(request, outcome) {
    const call = this._requireCall();
    const to = call.consult;
    const ack = await this._request(request, { callId: call.callId });
    if (this._call !== call) return { callId: call.callId, outcome };
    call.consult = null;
    this._emit(EVENT.CONSULT_ENDED, { callId: call.callId, userID: to, outcome });
    if (outcome === 'completed') this._endCall('transferred', true);
    else await this._stopHold(this._userID, true);
    return { callId: call.callId, outcome, held: ack.held };
  }

  /**
   * The pre-call check (pre-call-check.js): browser, microphone level, camera frames (shown in
   * `preview`, a <video> or its id, meanwhile), speaker, the server's round trip, and STUN/TURN
   * with the servers of this session (after login; before it they are skipped). Resolves
   * {ok, checks: [{id, ok, detail, advice}]}; opens no device the call would keep.
   */
  async preCallCheck({ video = true, preview = null } = {}) {
    const el = typeof preview === 'string' ? document.getElementById(preview) : preview;
    return preCallCheck({ server: this.server, rtc: this._hello ? this._rtc : null, video, preview: el });
  }

  /** Agents: whom a call could be transferred to now ({agents: [{userID, name, state, queues}], queues}). */
  async getTransferTargets() {
    const ack = await this._request('transfer_targets', {});
    return { agents: ack.agents || [], queues: ack.queues || [] };
  }

  _requireCall() {
    if (!this._call) throw sdkError('NOT_IN_CALL', 'there is no call');
    return this._call;
  }

  // ---------------------------------------------------------------- monitoring

  /** The monitoring this page takes part in (either side), or null. */
  get monitorState() {
    const m = this._monitor;
    return m && m.session ? { ...m.session } : null;
  }

  /**
   * Supervisor: monitors the answered queue call `callId` in `mode` ('listen', 'whisper',
   * 'barge'), or switches the current monitoring to `mode`. Resolves with the session.
   */
  async monitor({ callId, mode = 'listen' } = {}) {
    let link = this._monitor;
    if (link && link.callId !== callId) {
      throw sdkError('MONITOR_BUSY', `monitoring ${link.callId} already: stopMonitor() first`);
    }
    const fresh = !link;
    if (fresh) {
      // Made before the request: the agent's offer may come before the ack.
      link = new SupervisorMonitorLink({
        callId, agent: null, rtcConfig: this._rtc,
        sendSignal: (to, kind, payload) => this._monitorSend(callId, to, kind, payload),
      });
      this._monitor = link;
    }
    let ack;
    try {
      ack = await this._request('monitor', { callId, mode });
    } catch (err) {
      if (fresh && this._monitor === link) { this._monitor = null; link.close(); }
      throw err;
    }
    if (this._monitor !== link) return this._session(ack);
    link.peer = link.peer || ack.agent;
    const previous = link.session && link.session.mode;
    link.session = this._session(ack);
    await link.setMode(ack.mode);
    if (previous !== ack.mode) {
      this._emit(fresh ? EVENT.MONITOR_STARTED : EVENT.MONITOR_CHANGED, { ...link.session, local: true });
    }
    return { ...link.session };
  }

  /** Supervisor: ends the current monitoring. */
  async stopMonitor() {
    const link = this._monitor;
    if (!(link instanceof SupervisorMonitorLink)) return;
    try {
      await this._request('monitor_stop', { callId: link.callId });
    } finally {
      this._closeMonitor({ reason: 'stopped' }, true);
    }
  }

  _session({ callId, supervisor, agent, customer, mode, shown }) {
    return { callId, supervisor: supervisor || null, agent, customer, mode, shown: shown !== false };
  }

  _monitorSend(callId, to, kind, payload) {
    if (!to || !this._socket) return Promise.resolve();
    return this._request('signal', { callId, to, kind, payload }).catch((err) => {
      console.warn(`[callcenter] monitoring signal ${kind} to ${to} failed`, err);
    });
  }

  /** A signal of the monitoring connection (not of the call's mesh): true if it was one. */
  _monitorSignal({ callId, from, kind, payload }) {
    const link = this._monitor;
    if (!link || link.callId !== callId) return false;
    if (link instanceof SupervisorMonitorLink) {
      link.peer = link.peer || from;
      // The agent's page reloaded: its new connection replaces the one its old page had.
      if (kind === 'offer' && payload && payload.rejoin === true && link.answered) {
        const fresh = new SupervisorMonitorLink({
          callId, agent: link.peer, rtcConfig: this._rtc,
          sendSignal: (to, k, p) => this._monitorSend(callId, to, k, p),
        });
        fresh.session = link.session;
        fresh.mode = link.mode;
        this._monitor = fresh;
        link.close();
        fresh.signal(kind, payload);
        return true;
      }
    } else if (from !== link.peer) {
      return false; // the customer's, for the mesh
    }
    if (from === link.peer) link.signal(kind, payload);
    return true;
  }

  /** Agent: a supervisor monitors our call; our SDK offers them both sides. */
  _on_monitor_started(data, { rejoin = false } = {}) {
    if (!this._isCurrent(data.callId) || !data.supervisor) return;
    this._closeMonitor(null, false);
    // The customer's connection (in a conference the agent has one with a colleague too).
    const customer = () => this._mesh.peers.get(data.customer)
      || [...this._mesh.peers.values()].find((p) => p.userID !== data.supervisor.userID);
    const link = new AgentMonitorLink({
      callId: data.callId, supervisor: data.supervisor.userID, rtcConfig: this._rtc,
      sendSignal: (to, kind, payload) => this._monitorSend(data.callId, to, kind, payload),
      mic: () => this._media.audio,
      customerTrack: () => { const p = customer(); return p ? p.remoteStream.getAudioTracks()[0] || null : null; },
      customerSender: () => { const p = customer(); return p ? p.audioSender : null; },
      plainTrack: () => (this._onHold.held ? this._onHold.muted().audio : this._media.audio),
      held: () => this._onHold.held,
    });
    link.session = this._session(data);
    this._monitor = link;
    link.start(data.mode, { rejoin }).catch((err) => console.warn('[callcenter] monitoring did not start', err));
    this._emit(EVENT.MONITOR_STARTED, { ...link.session, local: false });
  }

  _on_monitor_changed(data) {
    const link = this._monitor;
    if (!(link instanceof AgentMonitorLink) || link.callId !== data.callId) return;
    link.session = this._session(data);
    link.setMode(data.mode).catch((err) => console.warn('[callcenter] monitoring mode', err));
    this._emit(EVENT.MONITOR_CHANGED, { ...link.session, local: false });
  }

  _on_monitor_ended(data) {
    const link = this._monitor;
    if (link && link.callId === data.callId) this._closeMonitor(data, false);
  }

  /**
   * Closes the monitoring connection (only if it is a `side`, when given); with `ended`
   * ({reason}) emits MONITOR_ENDED.
   */
  _closeMonitor(ended, local, side = null) {
    const link = this._monitor;
    if (!link || (side && !(link instanceof side))) return;
    this._monitor = null;
    link.close();
    if (ended && link.session) {
      this._emit(EVENT.MONITOR_ENDED, { ...link.session, reason: ended.reason, local: !!local });
    }
  }

  /** The call's tracks changed: the agent's side of a monitoring follows them. */
  _followMonitor() {
    const link = this._monitor;
    if (link instanceof AgentMonitorLink) link.follow().catch(() => {});
  }

  // ---------------------------------------------------------------- recording

  /** With `again`, a new leg for the same job replaces one that broke (`_reopenRecorder`). */
  _on_record_start({ callId, jobId, video }, { again = false } = {}) {
    if (!this._isCurrent(callId)) return;
    this._closeRecorder(null); // a new job replaces an earlier one
    if (!again) this._recorderReconnect.clear();
    if (typeof RTCPeerConnection !== 'function') return;
    const watch = (leg, state) => {
      if (this._recorder === leg) this._recorderReconnect.iceState('recorder', state);
    };
    this._recorder = new RecorderLeg({ callId, jobId, video }, {
      tracks: { audio: this._media.audio, video: this._media.video },
      rtcConfig: this._rtc,
      request: (event, payload) => this._request(event, payload),
      onFailed: (leg) => watch(leg, 'failed'),
      onIceState: watch,
    });
    if (!again) this._emit(EVENT.RECORDING, { callId, jobId, state: 'started' });
  }

  /** The leg to the recorder broke: a new one, as a page that took the call up opens. */
  _reopenRecorder() {
    const rec = this._recorder;
    if (!rec || !this._isCurrent(rec.callId)) return;
    console.info(`[callcenter] the leg to the recorder of ${rec.callId} broke: opening a new one`);
    this._on_record_start({ callId: rec.callId, jobId: rec.jobId, video: rec.video }, { again: true });
  }

  _on_record_signal({ callId, kind, payload }) {
    const rec = this._recorder;
    if (rec && rec.callId === callId) rec.signal(kind, payload);
  }

  /** Closes the leg to the recorder; with a reason, emits RECORDING 'stopped'. */
  _closeRecorder(reason) {
    const rec = this._recorder;
    if (!rec) return;
    this._recorder = null;
    rec.close();
    if (reason) this._recorderReconnect.forget('recorder');
    if (reason) this._emit(EVENT.RECORDING, { callId: rec.callId, jobId: rec.jobId, state: 'stopped', reason });
  }

  /** True while the current call is being recorded (the leg to the recorder is open). */
  get isRecording() { return !!this._recorder && this._isCurrent(this._recorder.callId); }

  /** Every sender of `key` ('audioSender' | 'videoSender'): the peers' and the recorder's. */
  _senders(key) {
    const senders = this._mesh.senders(key);
    if (this._recorder && this._recorder[key]) senders.push(this._recorder[key]);
    return senders;
  }

  // ---------------------------------------------------------------- contact-center events

  _on_queue_update({ callId, position, estimatedWait, ringing }) {
    if (!this._isCurrent(callId) || !this._call.queue) return;
    if (typeof position === 'number') this._call.position = position;
    // null: no agent staffs the queue now, so there is no honest estimate.
    if (typeof estimatedWait === 'number' || estimatedWait === null) this._call.estimatedWait = estimatedWait;
    this._call.ringing = ringing === true;
    this._emit(EVENT.QUEUE_UPDATE, {
      callId, queue: this._call.queue, position: this._call.position, estimatedWait: this._call.estimatedWait,
      ringing: this._call.ringing, callbackAfter: this._call.callbackAfter ?? null,
    });
  }

  _on_queue_answered({ callId, agent }) {
    if (!this._isCurrent(callId) || !agent) return;
    this._call.agent = agent;
    this._emit(EVENT.QUEUE_ANSWERED, { callId, agent: { userID: agent.userID, name: agent.name } });
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
    if (this._setup) throw sdkError('ALREADY_IN_CALL', 'a call is being set up');
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
      throw sdkError('CANCELLED', 'hung up before the call was set up');
    }
  }

  async _invite({ userIDList, type, timeout, data, group }) {
    if (!this._socket) throw sdkError('NOT_LOGGED_IN', 'call login() first');
    if (this._call || this._incoming) throw sdkError('ALREADY_IN_CALL', 'already in a call');
    if (!Array.isArray(userIDList) || userIDList.length === 0) {
      throw sdkError('BAD_REQUEST', 'no user to call');
    }
    return this._runSetup((setup) => this._doInvite(setup, { userIDList, type, timeout, data, group }));
  }

  async _doInvite(setup, { userIDList, type, timeout, data, group }) {
    const payload = { userIDList, type };
    if (timeout !== undefined && timeout !== null) payload.timeout = timeout;
    if (group) payload.group = true;
    if (data !== undefined) payload.data = data;
    return this._dial(setup, type, 'invite', payload, (ack) => {
      this._call = {
        callId: ack.callId, type, group, role: 'caller', state: 'dialing',
        invitees: [...userIDList], entered: new Set(),
      };
      return { callId: ack.callId };
    });
  }

  /**
   * An outgoing call (an invitation, or a customer's call into a queue): opens the devices for
   * `type`, sends `event` and hands its ack to `answered`, which makes the call and what the
   * caller resolves with. Call events that come meanwhile wait until `answered` is done.
   */
  async _dial(setup, type, event, payload, answered) {
    await this._prepareMedia(type);
    this._checkAborted(setup);
    this._hold();
    try {
      let ack;
      try {
        ack = await this._request(event, payload);
      } catch (err) {
        this._stopLocalMedia();
        throw err;
      }
      return answered(ack);
    } finally {
      this._release();
    }
  }

  /** Accepts the pending invitation: joins, then offers media to everyone already in the call. */
  async accept() {
    const incoming = this._incoming;
    if (!incoming) throw sdkError('NOT_INVITED', 'no invitation to accept');
    if (this._call) throw sdkError('ALREADY_IN_CALL', 'already in a call');
    return this._runSetup((setup) => this._doAccept(setup, incoming));
  }

  async _doAccept(setup, incoming) {
    await this._prepareMedia(incoming.type);
    this._checkAborted(setup);
    if (this._incoming !== incoming) {
      // Cancelled or timed out while the devices were opening.
      this._stopLocalMedia();
      throw sdkError('NOT_INVITED', 'the invitation is over');
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
        this._mesh.closeAll();
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
        this._mesh.offerTo(userID).catch((err) => {
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
    if (!this._socket) throw sdkError('NOT_LOGGED_IN', 'call login() first');
    if (this._call || this._incoming) throw sdkError('ALREADY_IN_CALL', 'already in a call');
    return this._runSetup((setup) => this._doEnqueue(setup, { queue, type, attributes }));
  }

  async _doEnqueue(setup, { queue, type, attributes }) {
    const payload = { queue, type };
    if (attributes !== undefined) payload.attributes = attributes;
    return this._dial(setup, type, 'enqueue', payload, (ack) => {
      this._call = {
        callId: ack.callId, type, group: false, role: 'caller', state: 'dialing',
        invitees: [], entered: new Set(), queue: ack.queue || queue,
        position: ack.position, estimatedWait: ack.estimatedWait, recorded: !!ack.recorded,
        callbackAfter: ack.callbackAfter ?? null,
      };
      const result = {
        callId: ack.callId, queue: this._call.queue, position: ack.position, estimatedWait: ack.estimatedWait,
        recorded: !!ack.recorded, callbackAfter: ack.callbackAfter ?? null,
      };
      // Before the call events held meanwhile: a page learns its callId here first.
      this._emit(EVENT.QUEUE_UPDATE, { ...result });
      return result;
    });
  }

  /**
   * Customer, while waiting in a queue: be called back instead (docs/protocol.md, `callback`).
   * Resolves with the ack ({callId, queue, position, callback}); our side of the call ends here
   * (CALL_END reason 'callback'), the devices close, and the call waits at its place for an agent.
   */
  async requestCallback({ name, email, phone, note } = {}) {
    const call = this._call;
    if (!call || !call.queue || call.state !== 'dialing') throw sdkError('NOT_WAITING', 'no call waiting in a queue');
    const contact = Object.fromEntries(Object.entries({ name, email, phone, note })
      .filter(([, value]) => value !== undefined && value !== null && value !== ''));
    const ack = await this._request('callback', { callId: call.callId, contact });
    if (this._call === call) this._endCall('callback', true);
    return ack;
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
    this._recorderReconnect.clear();
    this._signals.clear();
    this._signalsSeen.clear();
    if (!call) {
      this._closeRecorder(null);
      this._mesh.closeAll();
      return;
    }
    this._call = null;
    this._onHold.stop();
    this._closeMonitor({ reason: reason === 'transferred' ? 'transferred' : 'call_ended' }, true, AgentMonitorLink);
    this._reconnect.clear();
    this._stopVolume();
    this._closeRecorder('call_end');
    this._mesh.closeAll();
    this._stopLocalMedia();
    this._emit(EVENT.CALL_END, { callId: call.callId, reason, local: !!local });
  }

  // ---------------------------------------------------------------- WebRTC (parts/peer-mesh.js)

  /**
   * Relays a WebRTC signal to `userID` in the current call (or the one ringing); resolves once
   * acked. One whose ack a dropped connection took is sent again after the resume.
   */
  _sendSignal(userID, kind, payload) {
    const call = this._call;
    const callId = call ? call.callId : (this._incoming && this._incoming.callId);
    if (!callId || !this._socket) return Promise.resolve();
    return this._signals.add({ callId, to: userID, kind, payload });
  }

  // ---------------------------------------------------------------- local media

  /** Opens the microphone, and the camera for a video call (closes it for an audio call). */
  async _prepareMedia(type) {
    await this._media.prepare(type);
    this._renderLocal();
  }

  _stopLocalMedia() {
    this._media.stop();
    this._renderLocal();
  }

  _sendMediaState(extra) {
    const call = this._call;
    if (!call || !this._socket) return;
    const payload = extra || this._media.sending;
    this._request('media_state', { callId: call.callId, ...payload }).catch((err) => {
      console.warn('[callcenter] media_state failed', err);
    });
  }

  async openCamera() {
    const media = this._media;
    if (media.video && media.video.readyState === 'live') return;
    const track = await media.open('video');
    media.video = track;
    await Promise.all(this._senders('videoSender').map((s) => s.replaceTrack(track)));
    await this._onHold.follow();
    this._renderLocal();
    this._sendMediaState({ video: true });
  }

  async closeCamera() {
    const media = this._media;
    const track = media.video;
    media.video = null;
    await Promise.all(this._senders('videoSender').map((s) => s.replaceTrack(null)));
    if (track) track.stop();
    this._renderLocal();
    this._sendMediaState({ video: false });
  }

  async setMicMute(mute) {
    this._media.setMuted(mute);
    this._sendMediaState({ audio: this._media.sending.audio });
  }

  get isMicMuted() { return this._media.muted; }

  get isCameraOn() { return !!this._media.video; }

  async setVideoQuality(quality) {
    return this._media.setQuality(quality);
  }

  async getCameras() { return this._media.devices('videoinput'); }

  async getMicrophones() { return this._media.devices('audioinput'); }

  /** deviceType 'video' | 'audio'; switches a live track at once, otherwise applies to the next one. */
  async switchDevice({ deviceType, deviceId } = {}) {
    if (deviceType !== 'video' && deviceType !== 'audio') {
      throw sdkError('BAD_REQUEST', "deviceType must be 'video' or 'audio'");
    }
    const switched = await this._media.chooseDevice(deviceType, deviceId);
    if (!switched) return;
    const senderKey = deviceType === 'audio' ? 'audioSender' : 'videoSender';
    await Promise.all(this._senders(senderKey).map((s) => s.replaceTrack(switched.track)));
    await this._onHold.follow();
    switched.old.stop();
    this._renderLocal();
  }

  // ---------------------------------------------------------------- views

  /** Renders the local camera into the element with id videoViewDomID (a <video> or a container). */
  async startLocalView({ userID, videoViewDomID } = {}) {
    this._views.local.set(userID || this._userID, videoViewDomID);
    this._renderLocal();
  }

  async stopLocalView({ userID } = {}) {
    const key = userID || this._userID;
    const ref = this._views.local.get(key);
    this._views.local.delete(key);
    if (ref) this._views.detach(ref);
  }

  /** Renders a remote user's video into the element with id videoViewDomID. */
  async startRemoteView({ userID, videoViewDomID } = {}) {
    this._views.remote.set(userID, videoViewDomID);
    const peer = this._mesh.peers.get(userID);
    if (peer) this._views.renderRemote(userID, peer.remoteStream);
  }

  async stopRemoteView({ userID } = {}) {
    const ref = this._views.remote.get(userID);
    this._views.remote.delete(userID);
    if (ref) this._views.detach(ref);
  }

  _renderLocal() {
    this._views.renderLocal(this._media.video);
  }

  // ---------------------------------------------------------------- call type

  async switchToAudioCall() { return this._switchType(CALL_TYPE.AUDIO_CALL); }

  async switchToVideoCall() { return this._switchType(CALL_TYPE.VIDEO_CALL); }

  async _switchType(type) {
    const call = this._call;
    if (!call) throw sdkError('NOT_IN_CALL', 'not in a call');
    if (call.type === type) return { oldType: type, newType: type };
    if (type === CALL_TYPE.VIDEO_CALL && !this._media.video) {
      await this.openCamera(); // fails (60004/60005) before anything changes on the server
    }
    const ack = await this._request('switch_type', { callId: call.callId, type });
    return { oldType: ack.oldType, newType: ack.newType };
  }


  // ---------------------------------------------------------------- statistics

  _startVolume() {
    if (this._call) this._watch.start(this._call.callId); // media-watch.js: stalls
    if (this._volumeTimer) return;
    this._volumeTimer = setInterval(() => {
      this._measureVolume().catch(() => {});
    }, VOLUME_INTERVAL_MS);
  }

  _stopVolume() {
    this._watch.stop();
    if (this._volumeTimer) clearInterval(this._volumeTimer);
    this._volumeTimer = null;
  }

  async _measureVolume() {
    if (!this._call || this._mesh.size === 0) return;
    const volumeMap = await voiceLevels(this._mesh.peers, this._userID, this._media.muted);
    if (this._call) this._emit(EVENT.USER_VOICE_VOLUME, { volumeMap });
  }

  /**
   * Byte counters per remote user, from RTCPeerConnection.getStats():
   * {userID: {audioBytesReceived, videoBytesReceived, audioBytesSent, videoBytesSent}}, and while
   * the call is recorded `recorder: {audioBytesSent, videoBytesSent, connectionState}` (the
   * send-only leg to the media worker).
   */
  async getStats() {
    const result = await byteCounters(this._mesh.peers);
    const rec = this._recorder;
    if (rec) {
      const s = await rec.stats();
      if (this._recorder === rec) result.recorder = s;
    }
    return result;
  }
}

export default CallClient;
