/*
 * callcenter customer widget: one script tag on any website adds a floating call button.
 *
 *   <script src="https://calls.example/widget/widget.js" data-app="demo" data-queue="sales"></script>
 *
 * Attributes (all optional but data-app/data-queue):
 *   data-app        the app (tenant) id                       default "demo"
 *   data-queue      the queue to join                         default "default"
 *   data-user-id, data-user-sig
 *                   a customer credential minted by the business's own server (its claims reach the
 *                   agent as verified identity); without them the widget asks the callcenter for an
 *                   anonymous one (POST /api/customer-credential; the page's origin must be listed
 *                   in the app's allowed_origins)
 *   data-type       "video" (default) or "audio": the preselected call type
 *   data-language   the customer's language, default navigator.language
 *   data-label      the button's text, default "Call us"
 *   data-title      the panel's title, default "Talk to us"
 *   data-position   "right" (default) or "left"
 *
 * The widget finds its server from its own src, imports <server>/sdk/callcenter.js (the server must
 * send CORS headers for /sdk/*), and draws everything inside a shadow root, so the host page's CSS
 * cannot reach it. Every text that can come from a person is set with textContent.
 *
 * Element ids inside the shadow root (stable, used by tests; Playwright's CSS selectors pierce open
 * shadow roots): #cc-launcher (floating button), #cc-panel[data-state], #cc-close, #cc-title,
 *   form:      #cc-form, #cc-name, #cc-topic, #cc-type-video, #cc-type-audio (radios), #cc-start
 *   progress:  #cc-progress (text)
 *   queued:    #cc-queued, #cc-position, #cc-wait, #cc-recorded (shown when the call will be
 *              recorded), #cc-cancel
 *   call:      #cc-call, #cc-remote (the SDK adds a <video>), #cc-local (<video>), #cc-timer,
 *              #cc-mute, #cc-camera, #cc-hangup
 *   rating:    #cc-rating, #cc-stars (buttons [data-rating="1".."5"]), #cc-skip
 *   end:       #cc-end, #cc-message[data-outcome], #cc-again, #cc-done
 * States (#cc-panel[data-state], window.callcenterWidget.state): idle, starting, queued, connected,
 *   rating, thanks, ended.
 *
 * For tests and integrators: window.callcenterWidget = {state, outcome, callId, position,
 *   estimatedWait, recorded, recording (true while the SDK's send-only leg to the recorder is open:
 *   the SDK does the recording part by itself, see RECORDING in the SDK), client (the SDK's
 *   CallClient), events: [{name, data, at}], root (shadow root),
 *   open(), close()}.
 */
(function callcenterWidget() {
  'use strict';

  // currentScript is null when the tag was loaded as a module or run later by a tag manager.
  const script = document.currentScript
    || [...document.querySelectorAll('script[src]')].find((s) => /\/widget\/widget\.js(\?|#|$)/.test(s.src));
  if (!script || !script.src) return;
  if (window.callcenterWidget) return; // loaded twice

  const ORIGIN = new URL(script.src, location.href).origin;
  const data = script.dataset;
  const cfg = {
    appId: data.app || 'demo',
    queue: data.queue || 'default',
    userId: data.userId || null,
    userSig: data.userSig || null,
    type: data.type === 'audio' ? 'audio' : 'video',
    language: data.language || (navigator.language || ''),
    label: data.label || 'Call us',
    title: data.title || 'Talk to us',
    position: data.position === 'left' ? 'left' : 'right',
  };

  const AUDIO_CALL = 1;
  const VIDEO_CALL = 2;
  const MAX_VALUE = 256; // protocol: attribute values are at most 256 characters

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
    kicked_out: 'This call continued in another window.',
    logout: 'The call ended.',
    60003: 'We could not find a microphone. Please connect one and try again.',
    60004: 'We could not find a camera. Try an audio call instead.',
    60005: 'Please allow access to your microphone (and camera) to call us.',
    60006: 'This browser cannot make calls here (WebRTC unavailable, or the page is not secure).',
  };

  const CSS = `
:host {
  all: initial !important;
  position: fixed !important; z-index: 2147483000 !important; bottom: 20px !important;
  ${cfg.position}: 20px !important; display: block !important;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif !important;
  font-size: 14px !important; line-height: 1.4 !important; color: #1d2330 !important;
}
* { box-sizing: border-box; font: inherit; color: inherit; }
[hidden] { display: none !important; }
.launcher {
  display: flex; align-items: center; gap: 8px; margin-${cfg.position === 'left' ? 'right' : 'left'}: auto;
  padding: 12px 18px; border: 0; border-radius: 999px; background: #2563eb; color: #fff;
  font-weight: 600; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25);
}
.launcher:hover { background: #1d4ed8; }
.launcher svg { width: 20px; height: 20px; fill: currentColor; }
.launcher[data-busy="true"] { background: #16a34a; }
.wrap { display: flex; flex-direction: column; align-items: ${cfg.position === 'left' ? 'flex-start' : 'flex-end'}; gap: 12px; }
.panel {
  width: 340px; max-width: calc(100vw - 40px); max-height: calc(100vh - 110px); overflow: auto;
  background: #fff; border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.3);
  border: 1px solid #d9dde5;
}
.head { display: flex; align-items: center; justify-content: space-between; padding: 12px 14px;
  background: #2563eb; color: #fff; border-radius: 14px 14px 0 0; }
.head h2 { margin: 0; font-size: 16px; font-weight: 600; color: #fff; }
.close { border: 0; background: transparent; color: #fff; font-size: 20px; line-height: 1; cursor: pointer; padding: 2px 6px; }
.body { padding: 14px; display: flex; flex-direction: column; gap: 10px; }
label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: #475467; }
input[type="text"] { padding: 8px 10px; border: 1px solid #d9dde5; border-radius: 8px; background: #fff; color: #1d2330; width: 100%; }
input[type="text"]:focus { outline: 2px solid #93c5fd; border-color: #2563eb; }
fieldset { border: 0; margin: 0; padding: 0; display: flex; gap: 8px; }
fieldset legend { font-size: 13px; color: #475467; margin-bottom: 4px; padding: 0; }
.choice { flex: 1; flex-direction: row; align-items: center; justify-content: center; gap: 6px;
  padding: 8px; border: 1px solid #d9dde5; border-radius: 8px; cursor: pointer; color: #1d2330; }
.choice:has(input:checked) { border-color: #2563eb; background: #eff4ff; }
button.primary, button.secondary, button.danger {
  padding: 9px 14px; border-radius: 8px; border: 1px solid #2563eb; cursor: pointer; font-weight: 600;
}
button.primary { background: #2563eb; color: #fff; }
button.secondary { background: #fff; color: #2563eb; }
button.danger { background: #dc2626; border-color: #dc2626; color: #fff; }
button:disabled { opacity: .5; cursor: default; }
button[aria-pressed="true"] { background: #fde68a; border-color: #d97706; color: #1d2330; }
.row { display: flex; gap: 8px; justify-content: center; flex-wrap: wrap; }
.big { font-size: 18px; font-weight: 600; text-align: center; margin: 0; }
.muted { color: #667085; text-align: center; margin: 0; }
.spinner { width: 28px; height: 28px; margin: 4px auto; border-radius: 50%;
  border: 3px solid #dbe4ff; border-top-color: #2563eb; animation: spin 1s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
.media { position: relative; background: #111827; border-radius: 10px; overflow: hidden; aspect-ratio: 4 / 3; }
.media .remote, .media .remote video { width: 100%; height: 100%; display: block; object-fit: cover; }
.media .audio-only { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: #e5e7eb; font-size: 15px; }
.media .local { position: absolute; right: 8px; bottom: 8px; width: 30%; aspect-ratio: 4 / 3;
  object-fit: cover; border-radius: 6px; border: 2px solid rgba(255,255,255,.7); background: #374151; }
.media .timer { position: absolute; left: 8px; top: 8px; padding: 2px 8px; border-radius: 6px;
  background: rgba(0,0,0,.55); color: #fff; font-variant-numeric: tabular-nums; font-size: 13px; }
.media .rec { position: absolute; right: 8px; top: 8px; padding: 2px 8px; border-radius: 6px;
  background: #dc2626; color: #fff; font-size: 12px; font-weight: 700; }
.preview { width: 120px; aspect-ratio: 4 / 3; object-fit: cover; border-radius: 8px; margin: 0 auto; display: block; background: #374151; }
.stars { display: flex; justify-content: center; gap: 4px; }
.stars button { border: 0; background: transparent; font-size: 32px; line-height: 1; color: #d1d5db; cursor: pointer; padding: 2px; }
.stars button.on { color: #f59e0b; }
.message { text-align: center; margin: 0; }
.message[data-kind="error"] { color: #b42318; }
`;

  const TEMPLATE = `
<div class="wrap" part="wrap">
  <div class="panel" id="cc-panel" role="dialog" aria-labelledby="cc-title" data-state="idle" hidden>
    <div class="head"><h2 id="cc-title"></h2><button class="close" id="cc-close" type="button" aria-label="Minimise">&#x2212;</button></div>
    <div class="body">
      <form id="cc-form" autocomplete="on">
        <div class="body" style="padding:0">
          <label>Your name (optional)<input type="text" id="cc-name" name="name" maxlength="64" autocomplete="name"></label>
          <label>What is it about? (optional)<input type="text" id="cc-topic" name="topic" maxlength="200"></label>
          <fieldset><legend>Call with</legend>
            <label class="choice"><input type="radio" name="cc-type" id="cc-type-video" value="video"> Video</label>
            <label class="choice"><input type="radio" name="cc-type" id="cc-type-audio" value="audio"> Audio only</label>
          </fieldset>
          <button class="primary" id="cc-start" type="submit">Start call</button>
        </div>
      </form>
      <div id="cc-starting" hidden><div class="spinner"></div><p class="muted" id="cc-progress"></p></div>
      <div id="cc-queued" hidden>
        <div class="body" style="padding:0">
          <video class="preview" id="cc-preview-slot" hidden muted playsinline autoplay></video>
          <p class="big" id="cc-position"></p>
          <p class="muted" id="cc-wait"></p>
          <p class="muted" id="cc-recorded" hidden>This call will be recorded.</p>
          <div class="row"><button class="secondary" id="cc-cancel" type="button">Cancel</button></div>
        </div>
      </div>
      <div id="cc-call" hidden>
        <div class="body" style="padding:0">
          <div class="media">
            <div class="remote" id="cc-remote"></div>
            <div class="audio-only" id="cc-audio-only" hidden>Audio call</div>
            <video class="local" id="cc-local" muted playsinline autoplay></video>
            <span class="timer" id="cc-timer">00:00</span>
            <span class="rec" id="cc-rec" title="This call is being recorded" hidden>REC</span>
          </div>
          <div class="row">
            <button class="secondary" id="cc-mute" type="button" aria-pressed="false">Mute</button>
            <button class="secondary" id="cc-camera" type="button" aria-pressed="false">Camera off</button>
            <button class="danger" id="cc-hangup" type="button">Hang up</button>
          </div>
        </div>
      </div>
      <div id="cc-rating" hidden>
        <div class="body" style="padding:0">
          <p class="big">How was your call?</p>
          <div class="stars" id="cc-stars" role="group" aria-label="Rating">
            <button type="button" data-rating="1" aria-label="1 star">&#9733;</button>
            <button type="button" data-rating="2" aria-label="2 stars">&#9733;</button>
            <button type="button" data-rating="3" aria-label="3 stars">&#9733;</button>
            <button type="button" data-rating="4" aria-label="4 stars">&#9733;</button>
            <button type="button" data-rating="5" aria-label="5 stars">&#9733;</button>
          </div>
          <div class="row"><button class="secondary" id="cc-skip" type="button">Skip</button></div>
        </div>
      </div>
      <div id="cc-end" hidden>
        <div class="body" style="padding:0">
          <p class="message" id="cc-message" data-outcome=""></p>
          <div class="row">
            <button class="primary" id="cc-again" type="button">Call again</button>
            <button class="secondary" id="cc-done" type="button">Close</button>
          </div>
        </div>
      </div>
    </div>
  </div>
  <button class="launcher" id="cc-launcher" type="button" aria-expanded="false">
    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z"/></svg>
    <span id="cc-launcher-label"></span>
  </button>
</div>`;

  // ---------------------------------------------------------------- DOM

  const host = document.createElement('callcenter-widget');
  const root = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = CSS;
  root.appendChild(style);
  const shell = document.createElement('div');
  shell.innerHTML = TEMPLATE; // constant markup: nothing from a person goes in here
  root.appendChild(shell.firstElementChild);
  const $ = (id) => root.getElementById(id);

  const ui = {
    panel: $('cc-panel'), title: $('cc-title'), close: $('cc-close'),
    launcher: $('cc-launcher'), launcherLabel: $('cc-launcher-label'),
    form: $('cc-form'), name: $('cc-name'), topic: $('cc-topic'),
    typeVideo: $('cc-type-video'), typeAudio: $('cc-type-audio'), start: $('cc-start'),
    starting: $('cc-starting'), progress: $('cc-progress'),
    queued: $('cc-queued'), preview: $('cc-preview-slot'), position: $('cc-position'), wait: $('cc-wait'),
    recorded: $('cc-recorded'), rec: $('cc-rec'),
    cancel: $('cc-cancel'),
    call: $('cc-call'), remote: $('cc-remote'), audioOnly: $('cc-audio-only'), local: $('cc-local'),
    timer: $('cc-timer'), mute: $('cc-mute'), camera: $('cc-camera'), hangup: $('cc-hangup'),
    rating: $('cc-rating'), stars: $('cc-stars'), skip: $('cc-skip'),
    end: $('cc-end'), message: $('cc-message'), again: $('cc-again'), done: $('cc-done'),
  };
  ui.title.textContent = cfg.title;
  ui.launcherLabel.textContent = cfg.label;
  (cfg.type === 'audio' ? ui.typeAudio : ui.typeVideo).checked = true;

  // ---------------------------------------------------------------- state

  const widget = {
    state: 'idle', outcome: null, callId: null, position: null, estimatedWait: null, recorded: false,
    recording: false,
    client: null, events: [], root, config: { ...cfg, server: ORIGIN },
    open: () => openPanel(true), close: () => openPanel(false),
  };
  window.callcenterWidget = widget;

  let sdkPromise = null;
  let client = null;
  let callType = VIDEO_CALL;
  let agentId = null;
  let connectedAt = null;
  let timerHandle = null;
  let starting = null; // {cancelled} while credentials/login/enqueue are in flight
  let lastCallId = null;

  function log(name, payload) {
    widget.events.push({ name, data: payload === undefined ? null : payload, at: Date.now() });
    if (widget.events.length > 500) widget.events.shift();
  }

  function setState(state, extra) {
    widget.state = state;
    ui.panel.dataset.state = state;
    ui.form.hidden = state !== 'idle';
    ui.starting.hidden = state !== 'starting';
    ui.queued.hidden = state !== 'queued';
    ui.call.hidden = state !== 'connected';
    ui.rating.hidden = state !== 'rating';
    ui.end.hidden = state !== 'ended' && state !== 'thanks';
    const busy = state === 'starting' || state === 'queued' || state === 'connected';
    ui.launcher.dataset.busy = String(busy);
    ui.close.setAttribute('aria-label', busy ? 'Minimise' : 'Close');
    if (!busy && state !== 'connected') stopTimer();
    if (state !== 'connected' && state !== 'queued') ui.launcherLabel.textContent = cfg.label;
    if (state === 'queued') ui.launcherLabel.textContent = 'Waiting…';
    log('state', { state, ...(extra || {}) });
  }

  function openPanel(open) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute('aria-expanded', String(open));
    if (open) {
      loadSdk().catch(() => {}); // warm up while the customer types; errors surface on start
      if (widget.state === 'idle') setTimeout(() => ui.name.focus(), 0);
    }
  }

  function showEnd(outcome, text, kind) {
    widget.outcome = outcome;
    ui.message.dataset.outcome = outcome || '';
    ui.message.dataset.kind = kind || 'info';
    ui.message.textContent = text;
    ui.again.hidden = false;
    setState('ended', { outcome });
  }

  function messageFor(code, fallback) {
    if (code !== undefined && code !== null && Object.prototype.hasOwnProperty.call(MESSAGES, code)) {
      return MESSAGES[code];
    }
    return fallback || `Something went wrong${code ? ` (${code})` : ''}. Please try again.`;
  }

  function describeWait(position, seconds) {
    ui.position.textContent = position === 1 ? 'You are next in line'
      : (typeof position === 'number' && position > 0 ? `You are number ${position} in line` : 'You are in line');
    let wait;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) wait = 'An agent will be with you shortly.';
    else if (seconds < 60) wait = 'Estimated wait: less than a minute';
    else {
      const minutes = Math.ceil(seconds / 60);
      wait = `Estimated wait: about ${minutes} minute${minutes === 1 ? '' : 's'}`;
    }
    ui.wait.textContent = wait;
    ui.wait.dataset.seconds = typeof seconds === 'number' ? String(seconds) : '';
    ui.position.dataset.position = typeof position === 'number' ? String(position) : '';
  }

  function startTimer() {
    if (timerHandle) return;
    connectedAt = Date.now();
    const tick = () => {
      const s = Math.floor((Date.now() - connectedAt) / 1000);
      const text = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
      ui.timer.textContent = text;
      ui.launcherLabel.textContent = `In call ${text}`;
    };
    tick();
    timerHandle = setInterval(tick, 1000);
  }

  function stopTimer() {
    if (timerHandle) clearInterval(timerHandle);
    timerHandle = null;
  }

  function refreshControls() {
    if (!client) return;
    ui.mute.textContent = client.isMicMuted ? 'Unmute' : 'Mute';
    ui.mute.setAttribute('aria-pressed', String(client.isMicMuted));
    ui.camera.hidden = callType !== VIDEO_CALL;
    ui.camera.textContent = client.isCameraOn ? 'Camera off' : 'Camera on';
    ui.camera.setAttribute('aria-pressed', String(!client.isCameraOn));
    ui.local.style.visibility = client.isCameraOn ? 'visible' : 'hidden';
  }

  // ---------------------------------------------------------------- SDK and credentials

  function loadSdk() {
    if (!sdkPromise) {
      sdkPromise = import(`${ORIGIN}/sdk/callcenter.js`).then((mod) => mod.default || mod.CallClient)
        .catch((err) => {
          sdkPromise = null;
          const e = new Error(`could not load the call SDK: ${err && err.message}`);
          e.code = 'NETWORK';
          throw e;
        });
    }
    return sdkPromise;
  }

  async function credential(name) {
    if (cfg.userId && cfg.userSig) return { userID: cfg.userId, userSig: cfg.userSig };
    let res;
    try {
      const body = { appId: cfg.appId };
      if (name) body.name = name;
      res = await fetch(`${ORIGIN}/api/customer-credential`, {
        method: 'POST', mode: 'cors', credentials: 'omit',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
    } catch (err) {
      const e = new Error('network error'); e.code = 'NETWORK'; throw e;
    }
    let json = null;
    try { json = await res.json(); } catch (err) { /* not JSON */ }
    if (!res.ok || !json || json.ok === false || !json.userSig) {
      const error = (json && json.error) || {};
      const e = new Error(error.message || `HTTP ${res.status}`);
      e.code = error.code || (res.status === 429 ? 'RATE_LIMITED' : (res.status === 403 ? 'FORBIDDEN_ORIGIN' : `HTTP_${res.status}`));
      throw e;
    }
    return { userID: json.userID, userSig: json.userSig };
  }

  function wire(c) {
    const E = c.EVENT;
    const record = (name) => c.on(E[name], (d) => log(name, d));
    for (const name of Object.keys(E)) record(name);
    c.on(E.QUEUE_UPDATE, (d) => {
      // The SDK emits the first one for the enqueue ack itself, before any held call event.
      if (widget.state === 'starting' && !widget.callId) {
        widget.callId = d.callId;
        lastCallId = d.callId;
      }
      if (d.callId !== widget.callId) return;
      widget.position = d.position;
      widget.estimatedWait = d.estimatedWait;
      describeWait(d.position, d.estimatedWait);
      if (typeof d.recorded === 'boolean') {
        widget.recorded = d.recorded;
        ui.recorded.hidden = !d.recorded;
        ui.rec.hidden = !d.recorded;
      }
      if (widget.state === 'starting') setState('queued', { callId: d.callId });
    });
    const joined = (d) => {
      if (d.callId !== widget.callId || widget.state === 'connected') return;
      agentId = d.userID;
      enterCall();
    };
    c.on(E.RECORDING, (d) => {
      if (d.callId === widget.callId) widget.recording = d.state === 'started';
    });
    c.on(E.USER_ACCEPT, joined);
    c.on(E.USER_ENTER, joined);
    c.on(E.USER_VIDEO_AVAILABLE, (d) => {
      if (d.callId === widget.callId) ui.remote.style.visibility = d.isVideoAvailable ? 'visible' : 'hidden';
    });
    c.on(E.CALL_TYPE_CHANGED, (d) => {
      if (d.callId !== widget.callId) return;
      callType = d.newCallType;
      ui.audioOnly.hidden = callType === VIDEO_CALL;
      setTimeout(refreshControls, 300);
    });
    c.on(E.CALL_END, (d) => {
      if (d.callId !== widget.callId) return;
      callEnded(d);
    });
    c.on(E.KICKED_OUT, () => {
      if (widget.state === 'queued' || widget.state === 'connected' || widget.state === 'starting') {
        showEnd('kicked_out', messageFor('kicked_out'), 'error');
      }
    });
  }

  // ---------------------------------------------------------------- flow

  async function start() {
    if (widget.state !== 'idle' && widget.state !== 'ended' && widget.state !== 'thanks') return;
    const name = ui.name.value.trim().slice(0, 64);
    const topic = ui.topic.value.trim().slice(0, 200);
    callType = ui.typeAudio.checked ? AUDIO_CALL : VIDEO_CALL;
    const attempt = { cancelled: false };
    starting = attempt;
    widget.outcome = null;
    widget.callId = null;
    widget.recorded = false;
    widget.recording = false;
    ui.recorded.hidden = true;
    ui.rec.hidden = true;
    agentId = null;
    ui.progress.textContent = 'Connecting…';
    setState('starting');
    try {
      const CallClient = await loadSdk();
      if (attempt.cancelled) return;
      if (!client || !client.isLoggedIn) {
        ui.progress.textContent = 'Connecting…';
        const { userID, userSig } = await credential(name);
        if (attempt.cancelled) return;
        if (!client) {
          client = new CallClient({ server: ORIGIN, appId: cfg.appId });
          widget.client = client;
          wire(client);
        }
        await client.login({ userID, userSig });
        if (attempt.cancelled) { client.logout(); return; }
      }
      client.startLocalView({ videoViewDomID: ui.preview });
      ui.preview.hidden = callType !== VIDEO_CALL;
      ui.progress.textContent = callType === VIDEO_CALL
        ? 'Please allow your camera and microphone…' : 'Please allow your microphone…';
      const attributes = { pageUrl: location.href.slice(0, MAX_VALUE) };
      if (name) attributes.name = name;
      if (topic) attributes.topic = topic;
      if (cfg.language) attributes.language = cfg.language.slice(0, MAX_VALUE);
      const ack = await client.enqueue({ queue: cfg.queue, type: callType, attributes });
      if (attempt.cancelled) { await client.hangup(); return; }
      widget.callId = ack.callId;
      lastCallId = ack.callId;
    } catch (err) {
      if (attempt.cancelled) return;
      const code = err && err.code;
      log('error', { code: code === undefined ? null : code, message: err && err.message });
      showEnd(String(code || 'error'), messageFor(code), 'error');
      if (client && client.isLoggedIn && !cfg.userSig) client.logout();
    } finally {
      if (starting === attempt) starting = null;
    }
  }

  function enterCall() {
    setState('connected', { agent: agentId });
    // The local camera moves from the queue view's preview to the call view.
    client.startLocalView({ videoViewDomID: ui.local });
    ui.preview.srcObject = null;
    client.startRemoteView({ userID: agentId, videoViewDomID: ui.remote });
    ui.audioOnly.hidden = callType === VIDEO_CALL;
    ui.remote.style.visibility = 'visible';
    startTimer();
    refreshControls();
  }

  function callEnded({ reason, local }) {
    const wasConnected = widget.state === 'connected';
    stopTimer();
    if (client && agentId) client.stopRemoteView({ userID: agentId });
    ui.preview.hidden = true;
    if (wasConnected && reason !== 'kicked_out') {
      widget.outcome = local ? 'hangup_local' : reason;
      setStars(0);
      setState('rating', { reason, local });
      return;
    }
    if (reason === 'cancelled' && local) {
      showEnd('cancelled', messageFor('cancelled'), 'info');
    } else {
      showEnd(reason, messageFor(reason, 'The call ended.'), reason === 'hangup' ? 'info' : 'error');
    }
    finishSession();
  }

  async function cancel() {
    if (starting) {
      starting.cancelled = true;
      starting = null;
      if (client) await client.hangup();
      showEnd('cancelled', messageFor('cancelled'), 'info');
      finishSession();
      return;
    }
    if (client) await client.hangup(); // abandons the queued call; CALL_END does the rest
  }

  function setStars(n) {
    for (const b of ui.stars.querySelectorAll('button')) {
      b.classList.toggle('on', Number(b.dataset.rating) <= n);
    }
  }

  async function rate(rating) {
    setStars(rating);
    for (const b of ui.stars.querySelectorAll('button')) b.disabled = true;
    let ok = true;
    try {
      await client.rate({ callId: lastCallId, rating });
      log('rated', { callId: lastCallId, rating });
    } catch (err) {
      ok = false;
      log('error', { code: err.code || null, message: err.message });
    }
    for (const b of ui.stars.querySelectorAll('button')) b.disabled = false;
    thanks(ok ? 'Thank you for your feedback!' : 'Thank you! (We could not save your rating.)');
  }

  function thanks(text) {
    widget.outcome = widget.outcome || 'hangup';
    ui.message.dataset.outcome = 'thanks';
    ui.message.dataset.kind = 'info';
    ui.message.textContent = text;
    ui.again.hidden = true;
    setState('thanks');
    finishSession();
  }

  function finishSession() {
    // Anonymous credentials are short-lived: sign out; the next call gets a fresh one.
    if (client && client.isLoggedIn && !cfg.userSig) client.logout();
  }

  function reset() {
    setStars(0);
    setState('idle');
  }

  // ---------------------------------------------------------------- controls

  ui.launcher.addEventListener('click', () => openPanel(ui.panel.hidden));
  ui.close.addEventListener('click', () => {
    openPanel(false);
    if (widget.state === 'ended' || widget.state === 'thanks') reset();
  });
  ui.form.addEventListener('submit', (ev) => { ev.preventDefault(); start(); });
  ui.cancel.addEventListener('click', () => { cancel(); });
  ui.hangup.addEventListener('click', () => { if (client) client.hangup(); });
  ui.mute.addEventListener('click', async () => {
    await client.setMicMute(!client.isMicMuted);
    refreshControls();
  });
  ui.camera.addEventListener('click', async () => {
    ui.camera.disabled = true;
    try {
      if (client.isCameraOn) await client.closeCamera();
      else await client.openCamera();
    } catch (err) {
      log('error', { code: err.code || null, message: err.message });
    } finally {
      ui.camera.disabled = false;
      refreshControls();
    }
  });
  ui.stars.addEventListener('click', (ev) => {
    const b = ev.target.closest('button[data-rating]');
    if (b && widget.state === 'rating') rate(Number(b.dataset.rating));
  });
  ui.stars.addEventListener('mouseover', (ev) => {
    const b = ev.target.closest('button[data-rating]');
    if (b) setStars(Number(b.dataset.rating));
  });
  ui.stars.addEventListener('mouseleave', () => setStars(0));
  ui.skip.addEventListener('click', () => thanks('Thank you for calling!'));
  ui.again.addEventListener('click', () => reset());
  ui.done.addEventListener('click', () => { reset(); openPanel(false); });
  // Leaving the page while queued or in a call: end it on the server right away.
  window.addEventListener('pagehide', () => { if (client && widget.callId) client.hangup(); });

  function mount() {
    (document.body || document.documentElement).appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });
  setState('idle');
}());
