// callcenter agent console. Element ids are documented at the top of index.html.
// Everything that comes from a customer (name, topic, URL, attributes) or the server goes in via
// textContent, never innerHTML.
import CallClient from '/sdk/callcenter.js';
import { SupervisorView } from '/console/supervisor.js';
import { playThroughLinks } from '/console/links.js';

const { EVENT, CALL_TYPE } = CallClient;
const $ = (id) => document.getElementById(id);

const el = {
  loginSection: $('login-section'), loginForm: $('login-form'), appId: $('app-id'),
  agentId: $('agent-id'), password: $('password'), login: $('login'), loginError: $('login-error'),
  session: $('session'), agentName: $('agent-name'), agentUserId: $('agent-user-id'), logout: $('logout'),
  workspace: $('workspace'), supervisor: $('supervisor'),
  status: $('status'), breakReason: $('break-reason'), agentStatus: $('agent-status'),
  agentState: $('agent-state'), stateTime: $('state-time'),
  queues: $('queues'),
  offer: $('offer'), offerName: $('offer-name'), offerTopic: $('offer-topic'), offerUrl: $('offer-url'),
  offerLanguage: $('offer-language'), offerVerified: $('offer-verified'), offerQueue: $('offer-queue'),
  offerType: $('offer-type'), offerWaited: $('offer-waited'), offerPosition: $('offer-position'),
  offerCountdown: $('offer-countdown'), accept: $('accept'), reject: $('reject'),
  call: $('call'), callCustomer: $('call-customer'), callTimer: $('call-timer'),
  remoteView: $('remote-view'), audioOnly: $('call-audio-only'), localVideo: $('local-video'),
  mute: $('mute'), camera: $('camera'), hangup: $('hangup'), callRecording: $('call-recording'),
  wrapUp: $('wrap-up'), wrapForm: $('wrap-up-form'), wrapCustomer: $('wrap-up-customer'),
  disposition: $('disposition'), dispositionOther: $('disposition-other'), notes: $('notes'),
  wrapSubmit: $('wrap-up-submit'), wrapCountdown: $('wrap-up-countdown'),
  callsBody: $('calls-today-body'), callsEmpty: $('calls-empty'), callsRefresh: $('calls-refresh'),
  messages: $('messages'),
};

const STATE_NAMES = { waiting: 'Waiting', ringing: 'Ringing', in_call: 'In call', wrap_up: 'Wrap-up' };
const STATUS_NAMES = { available: 'Available', break: 'On break', offline: 'Offline' };
const REFRESH_MS = 20000;
// A recording is indexed a second or two after its call ends: poll for it this often, this long.
const RECORDING_POLL_MS = 1000;
const RECORDING_WAIT_S = 60;
// A call that ended this recently may still have a recording on its way even when this console
// did not see it start (e.g. the page was reloaded during the call).
const RECORDING_GRACE_S = 15;
const TITLE = document.title;

const cc = {
  client: null, events: [], agent: null, queues: [], callsToday: [], offer: null,
  callId: null, wrapCallId: null, recordings: {},
};
window.agentConsole = cc;

let client = null;
let agentId = null;
let offerAt = 0; // performance.now() when the shown offer arrived
let callCustomer = null; // {userID, name} of the call in progress or being wrapped up
let callStartedAt = null;
let wrapStartedAt = null;
let wrapSeconds = null; // the queue's wrap-up time when the server tells it
let queueSeenAt = 0;
let refreshTimer = null;
let ringer = null;
let wrapSubmitting = false;
let stateSeen = { state: null, at: 0 }; // local clock (s) when this console saw the state begin
let userSig = null; // the agent's credential: for /api/recordings
let supervisor = null; // the SupervisorView when a supervisor is signed in
// callId -> {state: 'probing' | 'processing' | 'ready' | 'none' | 'unavailable', audio, timer}
const recordings = new Map();
const recordedCalls = new Set(); // calls this console saw being recorded (RECORDING started)

// ------------------------------------------------------------------ helpers

function log(name, data) {
  cc.events.push({ name, data: data === undefined ? null : data, at: Date.now() });
  if (cc.events.length > 1000) cc.events.shift();
}

function notice(kind, text) {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString();
  li.append(time, ' ', text);
  el.messages.prepend(li);
  while (el.messages.children.length > 100) el.messages.lastElementChild.remove();
}

function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mm = String(m).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function nowSeconds() { return Date.now() / 1000; }

function customerLabel(c) {
  if (!c) return '';
  if (typeof c === 'string') return c;
  return c.name || (c.verified && c.verified.name) || c.userID || '';
}

function errorText(err) {
  return `${err && err.code ? `${err.code}: ` : ''}${(err && err.message) || err}`;
}

// ------------------------------------------------------------------ ring tone

function startRinging() {
  stopRinging();
  document.title = `📞 Incoming call · ${TITLE}`;
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    const ctx = new Ctx();
    const beep = () => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 660;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.15, ctx.currentTime + 0.05);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.6);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.65);
    };
    beep();
    ringer = { ctx, timer: setInterval(beep, 1500) };
  } catch (err) { /* no sound, the panel still shows */ }
}

function stopRinging() {
  document.title = TITLE;
  if (!ringer) return;
  clearInterval(ringer.timer);
  ringer.ctx.close().catch(() => {});
  ringer = null;
}

// ------------------------------------------------------------------ agent status and state

function renderAgent(agent) {
  if (!agent) return;
  const previous = cc.agent;
  cc.agent = agent;
  el.agentStatus.dataset.status = agent.status || '';
  el.agentStatus.textContent = (STATUS_NAMES[agent.status] || agent.status || '')
    + (agent.status === 'break' && agent.reason && agent.reason !== 'break' ? ` (${agent.reason})` : '');
  if (document.activeElement !== el.status && STATUS_NAMES[agent.status]) {
    el.status.value = agent.status;
    el.breakReason.hidden = agent.status !== 'break';
    if (agent.status === 'break' && agent.reason
        && [...el.breakReason.options].some((o) => o.value === agent.reason)) {
      el.breakReason.value = agent.reason;
    }
  }
  el.agentState.dataset.state = agent.state || '';
  el.agentState.textContent = STATE_NAMES[agent.state] || agent.state || '';
  if (stateSeen.state !== agent.state || stateSeen.since !== agent.since) {
    stateSeen = { state: agent.state, since: agent.since, at: stateStart(agent) };
  }
  tickStateTime();

  const prevState = previous && previous.state;
  if (agent.state === 'wrap_up') {
    if (agent.callId) cc.wrapCallId = agent.callId;
    if (prevState !== 'wrap_up') wrapStartedAt = stateStart(agent);
    const until = agent.wrapUpUntil ?? agent.wrapUpEnds ?? agent.wrapUpEndsAt;
    if (typeof until === 'number' && typeof agent.since === 'number') wrapSeconds = until - agent.since;
    if (typeof agent.wrapUp === 'number') wrapSeconds = agent.wrapUp;
  }
  if (prevState === 'wrap_up' && agent.state !== 'wrap_up') {
    if (cc.wrapCallId && !el.wrapUp.hidden && !wrapSubmitting) {
      notice('info', 'Wrap-up time is over: you can get the next call.');
    }
    cc.wrapCallId = null;
  }
  if (agent.state === 'waiting' && prevState && prevState !== 'waiting') refreshState();
  renderWrap();
}

// When the agent's state began (epoch seconds): the snapshot's `since`, unless it is missing or
// implausible (0 before the first change, or ahead of this clock), then when we first saw it.
function stateStart(agent) {
  const now = nowSeconds();
  const since = agent && agent.since;
  if (typeof since === 'number' && since > 1e9 && since <= now + 5) return Math.min(since, now);
  return now;
}

function tickStateTime() {
  if (!cc.agent) { el.stateTime.textContent = '00:00'; return; }
  el.stateTime.textContent = mmss(nowSeconds() - stateSeen.at);
}

async function setStatus() {
  const status = el.status.value;
  el.breakReason.hidden = status !== 'break';
  const reason = status === 'break' ? el.breakReason.value : undefined;
  el.status.disabled = true;
  try {
    const agent = await client.setAgentStatus(status, reason);
    log('status', { status, reason: reason || null });
    renderAgent(agent);
  } catch (err) {
    notice('error', `Could not change status: ${errorText(err)}`);
    if (cc.agent) el.status.value = cc.agent.status;
    el.breakReason.hidden = el.status.value !== 'break';
  } finally {
    el.status.disabled = false;
  }
}

// ------------------------------------------------------------------ queues

function renderQueues(queues) {
  cc.queues = queues;
  queueSeenAt = performance.now();
  const seen = new Set();
  for (const q of queues) {
    seen.add(q.name);
    let tile = el.queues.querySelector(`.queue-tile[data-queue="${CSS.escape(q.name)}"]`);
    if (!tile) {
      tile = document.createElement('div');
      tile.className = 'queue-tile';
      tile.dataset.queue = q.name;
      const h = document.createElement('h3');
      h.textContent = q.name;
      const waiting = document.createElement('div');
      const big = document.createElement('span');
      big.className = 'big q-waiting';
      waiting.append(big, ' waiting');
      const longest = document.createElement('div');
      longest.className = 'small';
      const lw = document.createElement('span');
      lw.className = 'q-longest';
      longest.append('longest wait ', lw);
      const agents = document.createElement('div');
      agents.className = 'small';
      const ag = document.createElement('span');
      ag.className = 'q-agents';
      const agLabel = document.createElement('span');
      agLabel.className = 'q-agents-label';
      agents.append(ag, agLabel);
      tile.append(h, waiting, longest, agents);
      el.queues.append(tile);
    }
    tile.dataset.waiting = String(q.waiting ?? 0);
    tile.dataset.longestWait = String(q.longestWait ?? 0);
    tile.querySelector('.q-waiting').textContent = String(q.waiting ?? 0);
    tile.querySelector('.q-agents').textContent = String(q.agentsAvailable ?? 0);
    tile.querySelector('.q-agents-label').textContent = (q.agentsAvailable === 1)
      ? ' agent available' : ' agents available';
  }
  // Queues absent from a full list are gone from this agent's view.
  for (const tile of el.queues.querySelectorAll('.queue-tile')) {
    if (!seen.has(tile.dataset.queue)) tile.remove();
  }
  tickQueues();
}

function tickQueues() {
  const elapsed = (performance.now() - queueSeenAt) / 1000;
  for (const tile of el.queues.querySelectorAll('.queue-tile')) {
    const waiting = Number(tile.dataset.waiting || 0);
    const longest = Number(tile.dataset.longestWait || 0);
    tile.querySelector('.q-longest').textContent = waiting > 0 ? mmss(longest + elapsed) : '—';
  }
}

// ------------------------------------------------------------------ offers

function showOffer(offer) {
  cc.offer = offer;
  offerAt = performance.now();
  const c = offer.customer || {};
  el.offerName.textContent = c.name || (c.verified && c.verified.name) || '';
  el.offerTopic.textContent = c.topic || '';
  renderUrl(c.pageUrl || '');
  el.offerLanguage.textContent = c.language || '';
  renderVerified(c.verified);
  el.offerQueue.textContent = offer.queue || '';
  el.offerType.textContent = offer.type === CALL_TYPE.AUDIO_CALL ? 'audio' : 'video';
  el.offerPosition.textContent = offer.position ? String(offer.position) : '';
  el.accept.disabled = false;
  el.reject.disabled = false;
  el.offer.hidden = false;
  tickOffer();
  startRinging();
}

function renderUrl(url) {
  el.offerUrl.replaceChildren();
  if (!url) return;
  let safe = false;
  try {
    const parsed = new URL(url);
    safe = parsed.protocol === 'https:' || parsed.protocol === 'http:';
  } catch (err) { /* shown as text */ }
  if (safe) {
    const a = document.createElement('a');
    a.href = url;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = url;
    el.offerUrl.append(a);
  } else {
    el.offerUrl.textContent = url;
  }
}

function renderVerified(verified) {
  el.offerVerified.replaceChildren();
  if (!verified || typeof verified !== 'object' || !Object.keys(verified).length) {
    el.offerVerified.textContent = 'not verified (anonymous)';
    el.offerVerified.dataset.verified = 'false';
    return;
  }
  el.offerVerified.dataset.verified = 'true';
  const badge = document.createElement('span');
  badge.className = 'verified';
  badge.textContent = '✔ verified';
  const parts = [];
  if (verified.name) parts.push(String(verified.name));
  if (verified.priority) parts.push(`priority ${verified.priority}`);
  const attrs = verified.attrs && typeof verified.attrs === 'object' ? verified.attrs : {};
  for (const [k, v] of Object.entries(attrs)) parts.push(`${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  el.offerVerified.append(badge, parts.length ? ` ${parts.join(' · ')}` : '');
}

function tickOffer() {
  const offer = cc.offer;
  if (!offer || el.offer.hidden) return;
  const elapsed = (performance.now() - offerAt) / 1000;
  el.offerWaited.textContent = mmss((offer.waited || 0) + elapsed);
  if (typeof offer.ringTimeout === 'number' && offer.ringTimeout > 0) {
    el.offerCountdown.textContent = `${Math.max(0, Math.ceil(offer.ringTimeout - elapsed))} s`;
  } else {
    el.offerCountdown.textContent = '';
  }
}

function hideOffer() {
  stopRinging();
  cc.offer = null;
  el.offer.hidden = true;
}

async function acceptOffer() {
  const offer = cc.offer;
  if (!offer) return;
  el.accept.disabled = true;
  el.reject.disabled = true;
  stopRinging();
  const c = offer.customer || {};
  try {
    client.startRemoteView({ userID: c.userID, videoViewDomID: 'remote-view' });
    const ack = await client.accept();
    log('accepted', { callId: ack.callId });
    hideOffer();
    callCustomer = { userID: c.userID, name: customerLabel(c) };
    cc.callId = ack.callId;
    cc.wrapCallId = null;
    showCall(ack.type);
  } catch (err) {
    hideOffer();
    notice('error', err.code === 'NOT_INVITED' ? 'The call was already taken or withdrawn.'
      : `Could not accept: ${errorText(err)}`);
  }
}

async function rejectOffer() {
  if (!cc.offer) return;
  el.accept.disabled = true;
  el.reject.disabled = true;
  await client.reject();
  log('rejected', { callId: cc.offer && cc.offer.callId });
  hideOffer();
  notice('info', 'Call rejected; it goes to another agent.');
}

// ------------------------------------------------------------------ call

function showCall(type) {
  el.callCustomer.textContent = callCustomer ? callCustomer.name : '';
  el.audioOnly.hidden = type !== CALL_TYPE.AUDIO_CALL;
  el.remoteView.style.visibility = type === CALL_TYPE.AUDIO_CALL ? 'hidden' : 'visible';
  el.call.hidden = false;
  callStartedAt = performance.now();
  tickCall();
  refreshControls();
  renderRecordingBadge();
}

function tickCall() {
  if (callStartedAt === null) return;
  el.callTimer.textContent = mmss((performance.now() - callStartedAt) / 1000);
}

function renderRecordingBadge() {
  el.callRecording.hidden = !(client && client.isRecording && cc.callId && !el.call.hidden);
}

function refreshControls() {
  el.mute.textContent = client.isMicMuted ? 'Unmute' : 'Mute';
  el.mute.setAttribute('aria-pressed', String(client.isMicMuted));
  el.camera.hidden = client.callType !== CALL_TYPE.VIDEO_CALL;
  el.camera.textContent = client.isCameraOn ? 'Camera off' : 'Camera on';
  el.camera.setAttribute('aria-pressed', String(!client.isCameraOn));
}

function endCall({ callId, reason, local }) {
  if (callId !== cc.callId) return;
  el.call.hidden = true;
  el.callRecording.hidden = true;
  callStartedAt = null;
  if (callCustomer && callCustomer.userID) client.stopRemoteView({ userID: callCustomer.userID });
  cc.callId = null;
  notice('info', local ? 'You ended the call.'
    : (reason === 'hangup' ? 'The customer hung up.' : `The call ended (${reason}).`));
  // After-call work: the server puts the agent in wrap-up; show the form at once.
  cc.wrapCallId = callId;
  if (!cc.agent || cc.agent.state !== 'wrap_up') wrapStartedAt = nowSeconds();
  el.wrapCustomer.textContent = callCustomer ? callCustomer.name : '';
  el.disposition.value = 'resolved';
  el.dispositionOther.value = '';
  el.dispositionOther.hidden = true;
  el.notes.value = '';
  renderWrap();
  refreshState(); // the call joins "calls today" (with "processing…" while its recording is made)
}

// ------------------------------------------------------------------ wrap-up

function renderWrap() {
  const state = cc.agent && cc.agent.state;
  // in_call: the call just ended here and the server's agent_update (wrap_up) is on its way.
  const show = !!cc.wrapCallId && (state === 'wrap_up' || (state === 'in_call' && !cc.callId));
  const wasHidden = el.wrapUp.hidden;
  el.wrapUp.hidden = !show;
  if (show && wasHidden) {
    el.wrapSubmit.disabled = false;
    el.disposition.focus();
  }
  tickWrap();
}

function tickWrap() {
  if (el.wrapUp.hidden || wrapStartedAt === null) return;
  const elapsed = nowSeconds() - wrapStartedAt;
  if (typeof wrapSeconds === 'number') {
    el.wrapCountdown.textContent = `${Math.max(0, Math.ceil(wrapSeconds - elapsed))} s left`;
    el.wrapCountdown.dataset.mode = 'countdown';
  } else {
    el.wrapCountdown.textContent = `${mmss(elapsed)} in wrap-up`;
    el.wrapCountdown.dataset.mode = 'elapsed';
  }
}

async function submitWrap(ev) {
  ev.preventDefault();
  const callId = cc.wrapCallId;
  if (!callId) return;
  let disposition = el.disposition.value;
  if (disposition === 'other') disposition = el.dispositionOther.value.trim().slice(0, 64);
  const notes = el.notes.value.trim().slice(0, 2000);
  el.wrapSubmit.disabled = true;
  wrapSubmitting = true;
  try {
    await client.wrapUp({ callId, disposition, notes });
    log('wrap_up', { callId, disposition, notes });
    notice('info', 'Wrap-up saved.');
    cc.wrapCallId = null;
    callCustomer = null;
    renderWrap();
    refreshState();
  } catch (err) {
    if (err.code === 'NOT_IN_WRAP_UP') {
      notice('error', 'Wrap-up time was already over; the outcome was not saved.');
      cc.wrapCallId = null;
      renderWrap();
    } else {
      notice('error', `Could not save the wrap-up: ${errorText(err)}`);
    }
  } finally {
    wrapSubmitting = false;
    el.wrapSubmit.disabled = false;
  }
}

// ------------------------------------------------------------------ calls today

function renderCallsToday(calls) {
  cc.callsToday = calls;
  el.callsBody.replaceChildren();
  for (const call of calls) {
    const tr = document.createElement('tr');
    tr.dataset.callId = call.callId;
    const cell = (cls, text) => {
      const td = document.createElement('td');
      td.className = cls;
      td.textContent = text;
      tr.append(td);
      return td;
    };
    const at = call.answeredAt || call.endedAt;
    cell('c-time', at ? new Date(at * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '');
    cell('c-queue', call.queue || '');
    cell('c-customer', customerLabel(call.customer));
    cell('c-talk', typeof call.talk === 'number' ? mmss(call.talk) : '');
    cell('c-disposition', call.disposition || '');
    const stars = Math.max(0, Math.min(5, Number(call.rating) || 0));
    const rating = cell('c-rating', stars ? '★'.repeat(stars) + '☆'.repeat(5 - stars) : '—');
    rating.dataset.rating = call.rating ? String(call.rating) : '';
    if (call.rating) rating.title = `${call.rating} of 5`;
    const rec = cell('c-recording', '');
    rec.dataset.recording = '';
    el.callsBody.append(tr);
    trackRecording(call);
    renderRecordingCell(call.callId);
  }
  el.callsEmpty.hidden = calls.length > 0;
}

// ------------------------------------------------------------------ recordings

function recordingPath(callId) {
  return `/api/recordings/${encodeURIComponent(callId)}`;
}

// Decides what to find out about a call's recording: known recorded (this console saw it start,
// or the server says `recorded`) -> poll until it is indexed; unknown -> ask once, or poll for a
// little while when the call has just ended.
function trackRecording(call) {
  const { callId } = call;
  if (recordings.has(callId) || !userSig) return;
  const known = recordedCalls.has(callId) || call.recorded === true;
  if (call.recorded === false && !known) {
    recordings.set(callId, { state: 'none' });
    return;
  }
  const now = nowSeconds();
  const ended = typeof call.endedAt === 'number' ? Math.min(call.endedAt, now) : now;
  const deadline = known ? now + RECORDING_WAIT_S : ended + RECORDING_GRACE_S;
  const entry = { state: known ? 'processing' : 'probing', audio: null, timer: null, deadline, known };
  recordings.set(callId, entry);
  pollRecording(callId, entry);
}

async function pollRecording(callId, entry) {
  entry.timer = null;
  if (recordings.get(callId) !== entry || !userSig) return;
  let status = 0;
  try {
    const res = await fetch(recordingPath(callId), { headers: { Authorization: `Bearer ${userSig}` } });
    status = res.status;
  } catch (err) { /* network: try again */ }
  if (recordings.get(callId) !== entry) return;
  if (status === 200) {
    entry.state = 'ready';
  } else if (status === 404 || status === 0) {
    if (nowSeconds() < entry.deadline) {
      // Not indexed yet (or, for a call not known to be recorded and just ended, maybe on its way).
      entry.timer = setTimeout(() => pollRecording(callId, entry), RECORDING_POLL_MS);
    } else {
      entry.state = entry.known ? 'unavailable' : 'none';
    }
  } else {
    entry.state = 'unavailable'; // 401/403: not allowed with this credential
  }
  renderRecordingCell(callId);
}

function recordingAudio(callId, entry) {
  if (!entry.audio) {
    const audio = document.createElement('audio');
    audio.controls = true;
    audio.preload = 'metadata';
    audio.setAttribute('aria-label', 'Play the recording of this call');
    entry.audio = audio;
    // An <audio src> cannot send the credential: a signed link for this one file instead.
    playThroughLinks(audio, `${recordingPath(callId)}/audio`, () => userSig).catch((err) => {
      log('recording_link_error', { callId, code: err.code || null });
    });
  }
  return entry.audio;
}

function renderRecordingCell(callId) {
  const td = el.callsBody.querySelector(`tr[data-call-id="${CSS.escape(callId)}"] .c-recording`);
  const entry = recordings.get(callId);
  const state = entry ? entry.state : '';
  if (cc.recordings[callId] !== state) log('recording_cell', { callId, state });
  cc.recordings[callId] = state;
  if (!td) return;
  // 'probing' shows as "processing…" only for a call known to be recorded; otherwise as nothing.
  const shown = state === 'probing' ? '' : state;
  if (td.dataset.recording === shown && shown !== 'ready') return;
  td.dataset.recording = shown;
  if (shown === 'ready') {
    // The same element each time, so a refresh of the list does not stop a playing recording.
    const audio = recordingAudio(callId, entry);
    if (audio.parentNode !== td) td.replaceChildren(audio);
  } else if (shown === 'processing') {
    td.textContent = 'processing…';
  } else if (shown === 'unavailable') {
    td.textContent = 'not available';
  } else {
    td.textContent = '';
  }
}

function forgetRecordings() {
  for (const entry of recordings.values()) {
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.audio) { entry.audio.pause(); entry.audio.removeAttribute('src'); entry.audio.load(); }
  }
  recordings.clear();
  recordedCalls.clear();
  cc.recordings = {};
}

async function refreshState() {
  if (!client || !client.isLoggedIn) return;
  try {
    const state = await client.getAgentState();
    renderAgent(state.agent);
    renderQueues(state.queues);
    renderCallsToday(state.callsToday);
  } catch (err) {
    notice('error', `Could not load your state: ${errorText(err)}`);
  }
}

// ------------------------------------------------------------------ session

function wire(c) {
  for (const name of Object.keys(EVENT)) c.on(EVENT[name], (d) => log(name, d));
  c.on(EVENT.AGENT_UPDATE, ({ agent }) => renderAgent(agent));
  c.on(EVENT.QUEUE_STATS, ({ queues }) => renderQueues(queues));
  c.on(EVENT.OFFER, (offer) => showOffer(offer));
  c.on(EVENT.CALLING_CANCEL, ({ callId, reason }) => {
    if (!cc.offer || cc.offer.callId !== callId) return;
    hideOffer();
    const why = {
      abandoned: 'the customer hung up', taken: 'another agent took it',
      timeout: 'not answered in time', disconnected: 'the customer was disconnected',
    }[reason] || reason || 'withdrawn';
    notice('info', `Offer withdrawn: ${why}.`);
  });
  c.on(EVENT.CALLING_TIMEOUT, ({ callId }) => {
    if (cc.offer && cc.offer.callId === callId) hideOffer();
  });
  c.on(EVENT.CALL_END, endCall);
  c.on(EVENT.RECORDING, ({ callId, state, reason }) => {
    if (state === 'started') {
      recordedCalls.add(callId);
      const entry = recordings.get(callId);
      if (entry && (entry.state === 'none' || entry.state === 'probing')) {
        if (entry.timer) clearTimeout(entry.timer);
        recordings.delete(callId);
      }
    } else if (reason === 'failed' && callId === cc.callId) {
      notice('error', 'The recorder cannot be reached; this call goes on unrecorded from now.');
    }
    renderRecordingBadge();
  });
  c.on(EVENT.USER_VIDEO_AVAILABLE, ({ callId, isVideoAvailable }) => {
    if (callId === cc.callId) el.remoteView.style.visibility = isVideoAvailable ? 'visible' : 'hidden';
  });
  c.on(EVENT.KICKED_OUT, () => {
    notice('error', 'You signed in somewhere else; this console is signed out.');
    showLoggedOut('Signed in elsewhere.');
  });
  c.on(EVENT.ERROR, ({ code, message }) => notice('error', `${code}: ${message}`));
}

async function login(ev) {
  ev.preventDefault();
  el.loginError.textContent = '';
  el.login.disabled = true;
  const appId = el.appId.value.trim();
  const id = el.agentId.value.trim();
  try {
    const res = await fetch('/api/agent-login', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ appId, agentId: id, password: el.password.value }),
    });
    let body = null;
    try { body = await res.json(); } catch (err) { /* not JSON */ }
    if (!res.ok || !body || body.ok === false) {
      const code = body && body.error && body.error.code;
      const msg = code === 'BAD_LOGIN' ? 'Wrong agent id or password.'
        : code === 'RATE_LIMITED' ? 'Too many attempts; wait a minute.'
          : (body && body.error && body.error.message) || `Sign-in failed (HTTP ${res.status}).`;
      throw Object.assign(new Error(msg), { code: code || 'LOGIN_FAILED' });
    }
    client = new CallClient({ appId });
    cc.client = client;
    wire(client);
    await client.login({ userID: body.userID, userSig: body.userSig });
    agentId = body.userID;
    userSig = body.userSig;
    el.password.value = '';
    el.agentName.textContent = body.name || body.userID;
    el.agentUserId.textContent = body.userID;
    el.loginSection.hidden = true;
    el.session.hidden = false;
    if (body.role === 'supervisor') {
      // Shown before it starts: Chart.js sizes its canvases from their (visible) parents.
      el.supervisor.hidden = false;
      supervisor = new SupervisorView(client, body.userSig);
      await supervisor.start();
      log('login', { userID: body.userID, role: body.role });
      return;
    }
    el.workspace.hidden = false;
    client.startLocalView({ userID: agentId, videoViewDomID: 'local-video' });
    log('login', { userID: body.userID, queues: body.queues || [] });
    await refreshState();
    refreshTimer = setInterval(refreshState, REFRESH_MS);
  } catch (err) {
    el.loginError.textContent = err.message || String(err);
    stopSupervisor();
    el.loginSection.hidden = false;
    el.session.hidden = true;
    if (client) { client.logout(); client = null; cc.client = null; }
  } finally {
    el.login.disabled = false;
  }
}

function stopSupervisor() {
  if (supervisor) supervisor.stop();
  supervisor = null;
  el.supervisor.hidden = true;
}

function showLoggedOut(message) {
  stopSupervisor();
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  hideOffer();
  el.call.hidden = true;
  el.wrapUp.hidden = true;
  el.workspace.hidden = true;
  el.session.hidden = true;
  el.loginSection.hidden = false;
  el.loginError.textContent = message || '';
  cc.agent = null;
  cc.wrapCallId = null;
  cc.callId = null;
  userSig = null;
  forgetRecordings();
  el.callsBody.replaceChildren();
}

async function logout() {
  const c = client;
  if (!c) return;
  if (!supervisor) {
    try { await c.setAgentStatus('offline'); } catch (err) { /* going anyway */ }
  }
  await c.logout();
  client = null;
  showLoggedOut('');
}

// ------------------------------------------------------------------ controls

el.loginForm.addEventListener('submit', login);
el.logout.addEventListener('click', logout);
el.status.addEventListener('change', setStatus);
el.breakReason.addEventListener('change', () => { if (el.status.value === 'break') setStatus(); });
el.accept.addEventListener('click', acceptOffer);
el.reject.addEventListener('click', rejectOffer);
el.hangup.addEventListener('click', () => client && client.hangup());
el.mute.addEventListener('click', async () => {
  await client.setMicMute(!client.isMicMuted);
  refreshControls();
});
el.camera.addEventListener('click', async () => {
  el.camera.disabled = true;
  try {
    if (client.isCameraOn) await client.closeCamera();
    else await client.openCamera();
  } catch (err) {
    notice('error', `Camera: ${errorText(err)}`);
  } finally {
    el.camera.disabled = false;
    refreshControls();
  }
});
el.disposition.addEventListener('change', () => {
  el.dispositionOther.hidden = el.disposition.value !== 'other';
  if (!el.dispositionOther.hidden) el.dispositionOther.focus();
});
el.wrapForm.addEventListener('submit', submitWrap);
el.callsRefresh.addEventListener('click', refreshState);
window.addEventListener('beforeunload', (ev) => {
  if (cc.callId) { ev.preventDefault(); ev.returnValue = ''; }
});

setInterval(() => {
  tickStateTime();
  tickQueues();
  tickOffer();
  tickCall();
  tickWrap();
}, 500);
