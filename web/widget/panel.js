// The customer widget itself (widget.js, the loader a business's page includes, imports this
// module and calls mountWidget): the floating button, its panel in a shadow root, and the
// customer's way through it: the form, the queue, the call, the rating. The ids, states and the
// window.callcenterWidget object are documented in widget.js.
import { CallView } from '../ui/call-view.js';
import { eventLog, logClientEvents } from '../ui/event-log.js';
import { fetchJSON } from '../ui/json-api.js';
import { mountCallback } from './callback.js';
import { messageFor } from './customer-messages.js';
import { PANEL_HTML } from './panel-markup.js';
import { panelStyle } from './panel-style.js';
import { wireSetupCheck } from './setup-check-panel.js';

// The SDK's CALL_TYPE, known before the SDK is loaded (it is loaded when the panel first opens).
const AUDIO_CALL = 1;
const VIDEO_CALL = 2;
const MAX_VALUE = 256; // protocol: attribute values are at most 256 characters

/**
 * Adds the widget to the page, once (a second widget.js tag on the page adds nothing).
 * @param {object} cfg what widget.js read from its tag: server (origin), appId, queue, userId,
 *   userSig, type, language, label, title, position
 */
export function mountWidget(cfg) {
  if (window.callcenterWidget) return;
  const ORIGIN = cfg.server;

  // ---------------------------------------------------------------- DOM

  const host = document.createElement('callcenter-widget');
  const root = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = panelStyle(cfg.position);
  root.appendChild(style);
  const shell = document.createElement('div');
  shell.innerHTML = PANEL_HTML; // constant markup: nothing from a person goes in here
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
    timer: $('cc-timer'), controls: $('cc-controls'), link: $('cc-link'), agent: $('cc-agent'), unheard: $('cc-unheard'),
    hold: $('cc-hold'),
    rating: $('cc-rating'), stars: $('cc-stars'), skip: $('cc-skip'),
    end: $('cc-end'), message: $('cc-message'), again: $('cc-again'), done: $('cc-done'),
  };
  ui.title.textContent = cfg.title;
  ui.launcherLabel.textContent = cfg.label;
  (cfg.type === 'audio' ? ui.typeAudio : ui.typeVideo).checked = true;

  // ---------------------------------------------------------------- state

  // What integrators and the browser tests read (documented in widget.js); the widget's own code
  // keeps its state here too.
  const widget = {
    state: 'idle', outcome: null, callId: null, position: null, estimatedWait: null, recorded: false,
    recording: false,
    client: null, events: [], root, config: { ...cfg },
    open: () => openPanel(true), close: () => openPanel(false),
  };
  window.callcenterWidget = widget;
  // The attempt under way, not for the outside.
  const session = {
    sdk: null, // the promise of the SDK's CallClient
    callType: VIDEO_CALL,
    agentId: null,
    starting: null, // {cancelled} while credentials/login/enqueue are in flight
    lastCallId: null, // the call to rate
    userSig: null, // the credential of the call, kept for the next page of the site
  };

  const log = eventLog(widget.events, 500);
  const callView = new CallView(
    { timer: ui.timer, controls: ui.controls, remote: ui.remote, audioOnly: ui.audioOnly, localVideo: ui.local },
    {
      client: () => widget.client,
      idPrefix: 'cc-',
      onError: (err) => log('error', { code: err.code || null, message: err.message }),
      onTick: (text) => { ui.launcherLabel.textContent = `In call ${text}`; },
    },
  );

  // "Call me back instead" while queued, and the callback's own states (callback.js).
  const callbacks = mountCallback({
    widget, session, cfg, root, ui, setState, log, loadSdk, wire, server: ORIGIN,
    openPanel: (open) => openPanel(open),
  });

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
    // While a call goes on the panel only folds away (−); otherwise it closes (×).
    ui.close.setAttribute('aria-label', busy ? 'Minimise' : 'Close');
    ui.close.textContent = busy ? '\u2212' : '\u00d7';
    if (!busy) {
      callView.ended();
      showAgent(null);
    }
    if (state !== 'connected' && state !== 'queued') ui.launcherLabel.textContent = cfg.label;
    if (state === 'queued') ui.launcherLabel.textContent = 'Waiting…';
    callbacks.state(state);
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

  function describeWait(position, seconds, ringing) {
    ui.position.textContent = position === 1 ? 'You are next in line'
      : (typeof position === 'number' && position > 0 ? `You are number ${position} in line` : 'You are in line');
    let wait;
    if (ringing) wait = 'An agent is being connected…';
    else if (seconds === null) wait = 'No agent is available right now. Please stay in line.';
    else if (typeof seconds !== 'number' || !Number.isFinite(seconds)) wait = 'An agent will be with you shortly.';
    else if (seconds < 60) wait = 'Estimated wait: less than a minute';
    else {
      const minutes = Math.ceil(seconds / 60);
      wait = `Estimated wait: about ${minutes} minute${minutes === 1 ? '' : 's'}`;
    }
    ui.wait.textContent = wait;
    ui.wait.dataset.seconds = typeof seconds === 'number' ? String(seconds) : '';
    ui.position.dataset.position = typeof position === 'number' ? String(position) : '';
  }

  // ---------------------------------------------------------------- SDK and credentials

  function loadSdk() {
    if (!session.sdk) {
      session.sdk = import(`${ORIGIN}/sdk/callcenter.js`).then((mod) => mod.default || mod.CallClient)
        .catch((err) => {
          session.sdk = null;
          const e = new Error(`could not load the call SDK: ${err && err.message}`);
          e.code = 'NETWORK';
          throw e;
        });
    }
    return session.sdk;
  }

  async function credential(name) {
    if (cfg.userId && cfg.userSig) return { userID: cfg.userId, userSig: cfg.userSig };
    const body = { appId: cfg.appId };
    if (name) body.name = name;
    let answer;
    try {
      answer = await fetchJSON(`${ORIGIN}/api/customer-credential`, { body, mode: 'cors', credentials: 'omit' });
    } catch (err) {
      // A refusal that is not ours (no error code in it, e.g. from a proxy) still says what it was.
      const code = { HTTP_429: 'RATE_LIMITED', HTTP_403: 'FORBIDDEN_ORIGIN' }[err.code] || err.code;
      throw Object.assign(new Error(err.message), { code });
    }
    if (!answer.userSig) throw Object.assign(new Error('no credential in the answer'), { code: 'AUTH_INVALID' });
    return { userID: answer.userID, userSig: answer.userSig };
  }

  function wire(c) {
    const E = c.EVENT;
    logClientEvents(c, log);
    callbacks.wire(c);
    c.on(E.QUEUE_UPDATE, (d) => {
      // The SDK emits the first one for the enqueue ack itself, before any held call event.
      if (widget.state === 'starting' && !widget.callId) {
        widget.callId = d.callId;
        session.lastCallId = d.callId;
      }
      if (d.callId !== widget.callId) return;
      widget.position = d.position;
      widget.estimatedWait = d.estimatedWait;
      describeWait(d.position, d.estimatedWait, d.ringing);
      if (typeof d.recorded === 'boolean') {
        widget.recorded = d.recorded;
        ui.recorded.hidden = !d.recorded;
        ui.rec.hidden = !d.recorded;
      }
      if (widget.state === 'starting') setState('queued', { callId: d.callId });
      callbacks.queueUpdate(d);
    });
    const joined = (d) => {
      if (d.callId !== widget.callId || widget.state === 'connected') return;
      session.agentId = d.userID;
      enterCall();
    };
    c.on(E.QUEUE_ANSWERED, (d) => {
      if (d.callId === widget.callId) showAgent(d.agent);
    });
    c.on(E.RECORDING, (d) => {
      if (d.callId === widget.callId) widget.recording = d.state === 'started';
    });
    c.on(E.USER_ACCEPT, joined);
    c.on(E.USER_ENTER, joined);
    c.on(E.USER_VIDEO_AVAILABLE, (d) => {
      if (d.callId === widget.callId) callView.remoteVideo(d.isVideoAvailable);
    });
    c.on(E.CALL_TYPE_CHANGED, (d) => {
      if (d.callId !== widget.callId) return;
      session.callType = d.newCallType;
      callView.typeChanged(d.newCallType);
    });
    // A dropped connection, ours or the agent's, that may come back (docs/protocol.md, Resume).
    c.on(E.RECONNECTING, (d) => {
      if (d.callId !== widget.callId) return;
      ui.link.textContent = messageFor(d.userID === c.userID ? 'reconnecting_self' : 'reconnecting_agent');
      ui.link.hidden = false;
    });
    c.on(E.RECONNECTED, (d) => {
      if (d.callId === widget.callId) ui.link.hidden = true;
    });
    // The agent's SDK receives nothing from us (the server relays what it saw): say so, so a
    // customer whose network or browser hiccuped knows why the agent may repeat themselves.
    const unheard = (stalled) => (d) => {
      if (d.callId !== widget.callId || d.userID !== c.userID || d.by !== session.agentId) return;
      ui.unheard.textContent = stalled ? messageFor('unheard') : '';
      ui.unheard.hidden = !stalled;
    };
    c.on(E.MEDIA_STALLED, unheard(true));
    c.on(E.MEDIA_FLOWING, unheard(false));
    // On hold, or waiting for a transfer's target: the SDK plays the music; we say why.
    c.on(E.CALL_HELD, (d) => {
      if (d.callId !== widget.callId) return;
      const to = d.transfer && d.transfer.agent ? d.transfer.agent.name : '';
      ui.hold.textContent = d.transfer
        ? (to ? `Transferring you to ${to} — please stay on the line.` : messageFor('transferring'))
        : messageFor('on_hold');
      ui.hold.hidden = false;
      widget.onHold = true;
    });
    c.on(E.CALL_RESUMED, (d) => {
      if (d.callId !== widget.callId) return;
      ui.hold.hidden = true;
      widget.onHold = false;
    });
    c.on(E.CALL_END, (d) => {
      if (d.reason === 'callback' && d.local) return; // we asked to be called back (callback.js)
      if (d.callId !== widget.callId) return;
      ui.link.hidden = true;
      ui.unheard.hidden = true;
      ui.hold.hidden = true;
      widget.onHold = false;
      callEnded(d);
    });
    c.on(E.KICKED_OUT, () => {
      if (widget.state === 'queued' || widget.state === 'connected' || widget.state === 'starting') {
        showEnd('kicked_out', messageFor('kicked_out'), 'error');
      }
    });
  }

  // ---------------------------------------------------------------- flow

  /** A logged-in client, for the pre-call check before a call (start() goes on with it). */
  async function signedIn() {
    const CallClient = await loadSdk();
    let { client } = widget;
    if (!client) {
      client = new CallClient({ server: ORIGIN, appId: cfg.appId });
      widget.client = client;
      wire(client);
    }
    if (!client.isLoggedIn) {
      const { userID, userSig } = await credential(ui.name.value.trim().slice(0, 64));
      session.userSig = userSig;
      await client.login({ userID, userSig });
    }
    return client;
  }

  async function start() {
    if (widget.state !== 'idle' && widget.state !== 'ended' && widget.state !== 'thanks') return;
    const name = ui.name.value.trim().slice(0, 64);
    const topic = ui.topic.value.trim().slice(0, 200);
    const callType = ui.typeAudio.checked ? AUDIO_CALL : VIDEO_CALL;
    session.callType = callType;
    const attempt = { cancelled: false };
    session.starting = attempt;
    widget.outcome = null;
    widget.callId = null;
    widget.recorded = false;
    widget.recording = false;
    ui.recorded.hidden = true;
    ui.rec.hidden = true;
    session.agentId = null;
    ui.progress.textContent = 'Connecting…';
    setState('starting');
    let { client } = widget;
    try {
      const CallClient = await loadSdk();
      if (attempt.cancelled) return;
      if (!client || !client.isLoggedIn) {
        const { userID, userSig } = await credential(name);
        if (attempt.cancelled) return;
        session.userSig = userSig; // kept for the next page of the site (keepForNextPage)
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
      session.lastCallId = ack.callId;
    } catch (err) {
      if (attempt.cancelled) return;
      const code = err && err.code;
      log('error', { code: code === undefined ? null : code, message: err && err.message });
      showEnd(String(code || 'error'), messageFor(code), 'error');
      if (client && client.isLoggedIn && !cfg.userSig) client.logout();
    } finally {
      if (session.starting === attempt) session.starting = null;
    }
  }

  /** "You are talking with Ann": textContent, as every text that comes from a person. */
  function showAgent(agent) {
    const name = agent && (agent.name || agent.userID);
    widget.agentName = name || null;
    ui.agent.textContent = name ? `You are talking with ${name}` : '';
    ui.agent.hidden = !name;
  }

  function enterCall() {
    const client = widget.client;
    setState('connected', { agent: session.agentId });
    // The local camera moves from the queue view's preview to the call view.
    client.startLocalView({ videoViewDomID: ui.local });
    ui.preview.srcObject = null;
    client.startRemoteView({ userID: session.agentId, videoViewDomID: ui.remote });
    callView.connected(session.callType);
  }

  function callEnded({ reason, local }) {
    const wasConnected = widget.state === 'connected';
    const client = widget.client;
    callView.ended();
    if (client && session.agentId) client.stopRemoteView({ userID: session.agentId });
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
    const client = widget.client;
    if (session.starting) {
      session.starting.cancelled = true;
      session.starting = null;
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
    const callId = session.lastCallId;
    setStars(rating);
    for (const b of ui.stars.querySelectorAll('button')) b.disabled = true;
    let ok = true;
    try {
      await widget.client.rate({ callId, rating });
      log('rated', { callId, rating });
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
    const client = widget.client;
    if (client && client.isLoggedIn && !cfg.userSig) client.logout();
  }

  function reset() {
    setStars(0);
    setState('idle');
  }

  // ---------------------------------------------------------------- the next page of the site

  // The customer's place in line and their call outlive a page of the business's site: on
  // `pagehide` the credential and the SDK's resume state go into sessionStorage (this tab and this
  // site only, never a URL), and the widget on the next page resumes the session within the
  // server's resume window (docs/protocol.md, "Resume from a new page").
  const KEPT_KEY = `callcenter.widget.${cfg.appId}`;

  function keepForNextPage() {
    const client = widget.client;
    const resume = client && client.session;
    if (!resume || (widget.state !== 'queued' && widget.state !== 'connected')) return false;
    if (!(resume.resumeWindow > 0)) return false;
    try {
      sessionStorage.setItem(KEPT_KEY, JSON.stringify({
        ...resume, userSig: session.userSig, callId: widget.callId, callType: session.callType,
        recorded: widget.recorded, until: Date.now() + resume.resumeWindow * 1000,
      }));
      return true;
    } catch (err) {
      return false; // storage refused (private mode, full): the call ends as it did before
    }
  }

  function keptFromLastPage() {
    let kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(KEPT_KEY) || 'null');
      sessionStorage.removeItem(KEPT_KEY); // taken once: a second tab or page starts afresh
    } catch (err) { /* unreadable: nothing to resume */ }
    return kept && typeof kept.resumeToken === 'string' && kept.until > Date.now() ? kept : null;
  }

  async function resumeFromLastPage(kept) {
    session.callType = kept.callType === AUDIO_CALL ? AUDIO_CALL : VIDEO_CALL;
    widget.callId = kept.callId; // so that its CALL_END, if it ended meanwhile, is ours
    session.lastCallId = kept.callId;
    widget.recorded = !!kept.recorded;
    ui.recorded.hidden = !kept.recorded;
    ui.rec.hidden = !kept.recorded;
    ui.progress.textContent = messageFor('reconnecting_self');
    setState('starting', { resuming: kept.callId });
    openPanel(true);
    try {
      const CallClient = await loadSdk();
      const client = new CallClient({ server: ORIGIN, appId: cfg.appId });
      widget.client = client;
      wire(client);
      session.userSig = kept.userSig;
      const ack = await client.login({
        userID: kept.userID, userSig: kept.userSig, resumeToken: kept.resumeToken, lastSeq: kept.lastSeq,
      });
      const call = ack.resumed === true ? ack.call : null;
      if (!call || call.callId !== kept.callId) {
        if (widget.state === 'starting') showEnd('disconnected', messageFor('disconnected'), 'error');
        finishSession();
        return;
      }
      const agent = (call.participants || [])[0];
      if (agent) {
        session.agentId = agent;
        if (widget.state !== 'connected') enterCall();
        showAgent(call.agent);
      } else {
        widget.position = call.position;
        widget.estimatedWait = call.estimatedWait;
        describeWait(call.position, call.estimatedWait);
        client.startLocalView({ videoViewDomID: ui.preview });
        ui.preview.hidden = session.callType !== VIDEO_CALL;
        setState('queued', { callId: call.callId, resumed: true });
        callbacks.queueUpdate({ ...call, ringing: false }); // "Call me back" on this page too
      }
    } catch (err) {
      log('error', { code: (err && err.code) || null, message: err && err.message });
      showEnd(String((err && err.code) || 'error'), messageFor(err && err.code), 'error');
    }
  }

  // ---------------------------------------------------------------- controls

  ui.launcher.addEventListener('click', () => openPanel(ui.panel.hidden));
  const closePanel = () => {
    openPanel(false);
    if (widget.state === 'ended' || widget.state === 'thanks') reset();
  };
  ui.close.addEventListener('click', closePanel);
  // Escape closes (or folds away) the panel, as it does a dialog, when the key is meant for it:
  // pressed inside the widget, or with nothing of the page's own focused (the panel's content
  // changes under the focus as a call goes on). The focus goes back to the button.
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || ui.panel.hidden) return;
    const active = document.activeElement;
    if (!ev.composedPath().includes(host) && active && active !== document.body) return;
    closePanel();
    ui.launcher.focus();
  });
  ui.form.addEventListener('submit', (ev) => { ev.preventDefault(); start(); });
  wireSetupCheck($, {
    signedIn, video: () => !ui.typeAudio.checked, soundUrl: `${ORIGIN}/music/hold.wav`,
    onRun: (result) => { widget.setupCheck = result; log('setup_check', result); },
  });
  ui.cancel.addEventListener('click', () => { cancel(); });
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
  // Leaving the page while queued or in a call: the next page of this site takes the call up
  // again (see KEPT_KEY); a call still being set up ends on the server right away.
  window.addEventListener('pagehide', () => {
    if (!widget.client || !widget.callId) return;
    if (!keepForNextPage()) widget.client.hangup();
  });

  function mount() {
    (document.body || document.documentElement).appendChild(host);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });
  setState('idle');
  const kept = keptFromLastPage();
  if (kept) resumeFromLastPage(kept);
  else callbacks.resume();
}
