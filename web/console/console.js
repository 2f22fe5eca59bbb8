// callcenter agent console. Element ids are documented at the top of index.html.
// Everything that comes from a customer (name, topic, URL, attributes) or the server goes in via
// textContent, never innerHTML.
import CallClient from '../sdk/callcenter.js';
import { SupervisorView } from './supervisor.js';
import { AdminView } from './admin.js';
import { CallTransfer } from './call-transfer.js';
import { MonitorNotice } from './monitor-controls.js';
import { RecordingCells } from './recording-cells.js';
import { RingTone } from './ring-tone.js';
import { addCell } from './table-cell.js';
import { CallView } from '../ui/call-view.js';
import { eventLog, logClientEvents } from '../ui/event-log.js';
import { at } from '../ui/base.js';
import { fetchJSON } from '../ui/json-api.js';
import { noticeList } from '../ui/notices.js';
import { QueueTiles } from '../ui/queue-tiles.js';
import { SetupCheck } from '../ui/setup-check.js';
import { clockTime, mmss, nowSeconds } from '../ui/time.js';

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
  offerTransfer: $('offer-transfer'), offerCallback: $('offer-callback'),
  call: $('call'), callCustomer: $('call-customer'), callTimer: $('call-timer'),
  remoteView: $('remote-view'), audioOnly: $('call-audio-only'), callControls: $('call-controls'),
  callRecording: $('call-recording'), callStalled: $('call-media-stalled'),
  wrapUp: $('wrap-up'), wrapForm: $('wrap-up-form'), wrapCustomer: $('wrap-up-customer'),
  disposition: $('disposition'), dispositionOther: $('disposition-other'), notes: $('notes'),
  wrapSubmit: $('wrap-up-submit'), wrapCountdown: $('wrap-up-countdown'),
  callsBody: $('calls-today-body'), callsEmpty: $('calls-empty'), callsRefresh: $('calls-refresh'),
  messages: $('messages'),
};

const STATE_NAMES = { waiting: 'Waiting', ringing: 'Ringing', in_call: 'In call', wrap_up: 'Wrap-up' };
const STATUS_NAMES = { available: 'Available', break: 'On break', offline: 'Offline' };
// Breaks the server starts by itself, said in words; the agent's own reasons are in the select.
const SYSTEM_BREAKS = {
  login: 'just signed in', no_answer: 'missed offers', disconnected: 'connection lost',
};
const REFRESH_MS = 20000;
const TICK_MS = 500;

// Everything the console knows, in one object. It is also window.agentConsole (documented in
// index.html), which only the browser tests and a curious developer read; the page itself never
// goes through the global.
const cc = {
  client: null,
  events: [], // [{name, data, at}]: every SDK event and what the console did
  agent: null, // the agent's last snapshot (status, state, since, ...)
  queues: [],
  callsToday: [],
  offer: null, // the offer shown
  callId: null, // the call in progress
  wrapCallId: null, // the call being wrapped up
  recordings: {}, // callId -> the state its .c-recording cell shows
  // The session.
  agentId: null,
  userSig: null, // the agent's credential: the REST API and the recordings take it too
  supervisor: null, // the SupervisorView when a supervisor is signed in
  admin: null, // the AdminView when the supervisor is an admin
  refreshTimer: null,
  // The moment things began, for the clocks that tick between updates.
  stateSeen: { state: null, since: null, at: 0 }, // local clock (s) when this console saw the state begin
  offerAt: 0, // when the shown offer arrived (s)
  callCustomer: null, // {userID, name} of the call in progress or being wrapped up
  wrapStartedAt: null,
  wrapSeconds: null, // the queue's wrap-up time when the server tells it
  wrapSubmitting: false,
};
window.agentConsole = cc;

const log = eventLog(cc.events);
const notice = noticeList(el.messages, 100);
const ringTone = new RingTone();
const queueTiles = new QueueTiles(el.queues, {
  prefix: 'q',
  lines: [{
    cls: 'q-agents', value: (q) => q.agentsAvailable ?? 0,
    unit: (q) => (q.agentsAvailable === 1 ? ' agent available' : ' agents available'),
  }],
});
const recordingCells = new RecordingCells(el.callsBody, {
  userSig: () => cc.userSig, log, shown: cc.recordings,
});
// The pre-call check before taking calls (../ui/setup-check.js), beside the status.
const setupCheck = new SetupCheck({
  list: $('setup-check-list'), summary: $('setup-check-summary'), preview: $('setup-check-preview'),
  sound: $('setup-check-sound'),
}, { client: () => cc.client, soundUrl: '../music/hold.wav' });
async function runSetupCheck() {
  if (!cc.client) return;
  $('setup-check-panel').hidden = false;
  const result = await setupCheck.run();
  cc.setupCheck = result;
  log('setup_check', result);
}
$('setup-check').addEventListener('click', runSetupCheck);
$('setup-check-again').addEventListener('click', runSetupCheck);
$('setup-check-close').addEventListener('click', () => { $('setup-check-panel').hidden = true; });

const callTransfer = new CallTransfer({
  hold: $('hold'), holdTime: $('call-hold'), open: $('transfer-open'), panel: $('transfer-panel'),
  target: $('transfer-target'), note: $('transfer-note'), go: $('transfer-go'), cancel: $('transfer-cancel'),
  consult: $('transfer-consult'), bar: $('consult-bar'), barStatus: $('consult-status'),
  complete: $('consult-complete'), conference: $('conference'), back: $('consult-cancel'),
}, { client: () => cc.client, callId: () => cc.callId, notice: (kind, text) => notice(kind, text), log: (n, d) => log(n, d) });
const monitorNotice = new MonitorNotice($('call-monitor'), { callId: () => cc.callId });
const callView = new CallView(
  { timer: el.callTimer, controls: el.callControls, remote: el.remoteView, audioOnly: el.audioOnly },
  { client: () => cc.client, onError: (err) => notice('error', `Camera: ${errorText(err)}`) },
);

// ------------------------------------------------------------------ helpers

function customerLabel(c) {
  if (!c) return '';
  if (typeof c === 'string') return c;
  return c.name || (c.verified && c.verified.name) || c.userID || '';
}

function errorText(err) {
  return `${err && err.code ? `${err.code}: ` : ''}${(err && err.message) || err}`;
}

// ------------------------------------------------------------------ agent status and state

function renderAgent(agent) {
  if (!agent) return;
  const previous = cc.agent;
  cc.agent = agent;
  el.agentStatus.dataset.status = agent.status || '';
  const reason = agent.status === 'break' && agent.reason && agent.reason !== 'break'
    ? (SYSTEM_BREAKS[agent.reason] || agent.reason) : '';
  el.agentStatus.textContent = (STATUS_NAMES[agent.status] || agent.status || '') + (reason ? ` (${reason})` : '');
  if (document.activeElement !== el.status && STATUS_NAMES[agent.status]) {
    el.status.value = agent.status;
    // The reason select holds the agent's own reasons: a break the server started (after
    // sign-in, after missed offers) is said in the pill, and the select asks for a reason.
    const own = [...el.breakReason.options].some((o) => o.value && o.value === agent.reason);
    el.breakReason.hidden = agent.status !== 'break';
    if (agent.status === 'break') el.breakReason.value = own ? agent.reason : '';
  }
  el.agentState.dataset.state = agent.state || '';
  // "Waiting" means waiting for a call: only true while available.
  el.agentState.textContent = agent.state === 'waiting' && agent.status !== 'available'
    ? 'Not taking calls' : (STATE_NAMES[agent.state] || agent.state || '');
  if (cc.stateSeen.state !== agent.state || cc.stateSeen.since !== agent.since) {
    cc.stateSeen = { state: agent.state, since: agent.since, at: stateStart(agent) };
  }
  tickStateTime();

  const prevState = previous && previous.state;
  if (agent.state === 'wrap_up') {
    if (agent.callId) cc.wrapCallId = agent.callId;
    if (prevState !== 'wrap_up') cc.wrapStartedAt = stateStart(agent);
    const until = agent.wrapUpUntil ?? agent.wrapUpEnds ?? agent.wrapUpEndsAt;
    if (typeof until === 'number' && typeof agent.since === 'number') cc.wrapSeconds = until - agent.since;
    if (typeof agent.wrapUp === 'number') cc.wrapSeconds = agent.wrapUp;
  }
  if (prevState === 'wrap_up' && agent.state !== 'wrap_up') {
    if (cc.wrapCallId && !el.wrapUp.hidden && !cc.wrapSubmitting) {
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
  el.stateTime.textContent = cc.agent ? mmss(nowSeconds() - cc.stateSeen.at) : mmss(0);
}

async function setStatus() {
  const status = el.status.value;
  el.breakReason.hidden = status !== 'break';
  const reason = status === 'break' ? el.breakReason.value : undefined;
  el.status.disabled = true;
  try {
    const agent = await cc.client.setAgentStatus(status, reason);
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

function renderQueues(queues) {
  cc.queues = queues;
  queueTiles.render(queues); // queues absent from a full list are gone from this agent's view
}

// ------------------------------------------------------------------ offers

function showOffer(offer) {
  cc.offer = offer;
  cc.offerAt = nowSeconds();
  const c = offer.customer || {};
  el.offerName.textContent = c.name || (c.verified && c.verified.name) || '';
  el.offerTopic.textContent = c.topic || '';
  renderUrl(c.pageUrl || '');
  el.offerLanguage.textContent = c.language || '';
  renderVerified(c.verified);
  el.offerQueue.textContent = offer.queue || '';
  el.offerType.textContent = offer.type === CALL_TYPE.AUDIO_CALL ? 'audio' : 'video';
  el.offerPosition.textContent = offer.position ? String(offer.position) : '';
  const { transfer, consult } = offer;
  el.offerTransfer.hidden = !transfer && !consult;
  if (consult) {
    const who = (consult.from && (consult.from.name || consult.from.userID)) || '';
    el.offerTransfer.textContent = `Consult from ${who}${consult.note ? `: ${consult.note}` : ''}`;
  } else if (transfer) {
    const who = (transfer.from && (transfer.from.name || transfer.from.userID)) || '';
    el.offerTransfer.textContent = transfer.returned && transfer.from && transfer.from.userID === cc.agentId
      ? `Your transfer was not taken; back to you.${transfer.note ? ` Note: ${transfer.note}` : ''}`
      : `Transferred by ${who}${transfer.note ? `: ${transfer.note}` : ''}`;
  }
  // A callback: accepting rings the customer back; the contact is for a follow-up if it fails.
  const { callback } = offer;
  el.offerCallback.hidden = !callback;
  if (callback) {
    const k = callback.contact || {};
    const tries = (callback.attempts || []).length;
    el.offerCallback.textContent = `Callback requested — accept to call ${k.name || 'the customer'} back`
      + `${tries ? ` (try ${tries + 1})` : ''}. ${[k.email, k.phone, k.note].filter(Boolean).join(' · ')}`;
  }
  el.accept.disabled = false;
  el.reject.disabled = false;
  el.offer.hidden = false;
  tickOffer();
  ringTone.start();
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
  const { offer } = cc;
  if (!offer || el.offer.hidden) return;
  const elapsed = nowSeconds() - cc.offerAt;
  el.offerWaited.textContent = mmss((offer.waited || 0) + elapsed);
  if (typeof offer.ringTimeout === 'number' && offer.ringTimeout > 0) {
    el.offerCountdown.textContent = `${Math.max(0, Math.ceil(offer.ringTimeout - elapsed))} s`;
  } else {
    el.offerCountdown.textContent = '';
  }
}

function hideOffer() {
  ringTone.stop();
  cc.offer = null;
  el.offer.hidden = true;
}

async function acceptOffer() {
  const { offer, client } = cc;
  if (!offer) return;
  el.accept.disabled = true;
  el.reject.disabled = true;
  ringTone.stop();
  const c = offer.customer || {};
  try {
    client.startRemoteView({ userID: c.userID, videoViewDomID: 'remote-view' });
    const ack = await client.accept();
    log('accepted', { callId: ack.callId });
    hideOffer();
    cc.callCustomer = { userID: c.userID, name: customerLabel(c) };
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
  await cc.client.reject();
  log('rejected', { callId: cc.offer && cc.offer.callId });
  hideOffer();
  notice('info', 'Call rejected; it goes to another agent.');
}

// ------------------------------------------------------------------ call

function showCall(type) {
  el.callCustomer.textContent = cc.callCustomer ? cc.callCustomer.name : '';
  el.call.hidden = false;
  callView.connected(type);
  renderRecordingBadge();
  callTransfer.render();
}

/** After a reload: the call the page was in goes on (the SDK joins its media again). */
function resumeCall(view) {
  const c = view.customer || { userID: (view.participants || [])[0] };
  cc.callCustomer = { userID: c.userID, name: customerLabel(c) };
  cc.callId = view.callId;
  cc.wrapCallId = null;
  if (c.userID) cc.client.startRemoteView({ userID: c.userID, videoViewDomID: 'remote-view' });
  showCall(view.type);
  log('resumed', { callId: view.callId });
  notice('info', 'Reconnected after the reload; the call goes on.');
}

function renderRecordingBadge() {
  el.callRecording.hidden = !(cc.client && cc.client.isRecording && cc.callId && !el.call.hidden);
}

// Media from the customer stopped arriving (their browser froze, their network went): the SDK
// saw it in its byte counters (MEDIA_STALLED with our own id as `by`) and told the server, which
// keeps those seconds out of the talk time. Shown until media flows again or the call ends.
function showStalled({ callId, userID, by }, stalled) {
  const customer = cc.callCustomer;
  if (callId !== cc.callId || by !== cc.agentId || !customer || userID !== customer.userID) return;
  el.callStalled.textContent = stalled
    ? `No audio from ${customer.name || customer.userID} — their connection may have frozen.` : '';
  el.callStalled.hidden = !stalled;
}

function endCall({ callId, reason, local }) {
  if (callId !== cc.callId) return;
  el.call.hidden = true;
  el.callStalled.hidden = true;
  el.callRecording.hidden = true;
  callView.ended();
  callTransfer.held(false);
  monitorNotice.hide();
  const customer = cc.callCustomer;
  if (customer && customer.userID) cc.client.stopRemoteView({ userID: customer.userID });
  cc.callId = null;
  callTransfer.render();
  if (reason === 'consult_ended') {
    // A consult we were asked into is over: we never had the customer; nothing to wrap up.
    notice('info', 'The consult ended.');
    cc.callCustomer = null;
    refreshState();
    return;
  }
  // A callback whose customer was not reached (docs/protocol.md, `callback`): it is tried again.
  const missed = { offline: 'is not on the site', busy: 'is in another call', no_answer: 'did not answer', rejected: 'declined' }[reason];
  if (missed && !local) {
    // We never talked with the customer: nothing to wrap up.
    notice('info', `The customer ${missed}; the callback will be tried again.`);
    cc.callCustomer = null;
    refreshState();
    return;
  }
  if (reason !== 'transferred') {
    notice('info', local ? 'You ended the call.'
      : (reason === 'hangup' ? 'The customer hung up.' : `The call ended (${reason}).`));
  }
  // After-call work: the server puts the agent in wrap-up; show the form at once.
  cc.wrapCallId = callId;
  if (!cc.agent || cc.agent.state !== 'wrap_up') cc.wrapStartedAt = nowSeconds();
  el.wrapCustomer.textContent = customer ? customer.name : '';
  el.disposition.selectedIndex = 0;
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
  if (el.wrapUp.hidden || cc.wrapStartedAt === null) return;
  const elapsed = nowSeconds() - cc.wrapStartedAt;
  if (typeof cc.wrapSeconds === 'number') {
    el.wrapCountdown.textContent = `${Math.max(0, Math.ceil(cc.wrapSeconds - elapsed))} s left`;
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
  cc.wrapSubmitting = true;
  try {
    await cc.client.wrapUp({ callId, disposition, notes });
    log('wrap_up', { callId, disposition, notes });
    notice('info', 'Wrap-up saved.');
    cc.wrapCallId = null;
    cc.callCustomer = null;
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
    cc.wrapSubmitting = false;
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
    const cell = (cls, text) => addCell(tr, cls, text);
    const at = call.answeredAt || call.endedAt;
    cell('c-time', at ? clockTime(at) : '');
    cell('c-queue', call.queue || '');
    cell('c-customer', customerLabel(call.customer));
    cell('c-talk', typeof call.talk === 'number' ? mmss(call.talk) : '');
    cell('c-disposition', call.disposition || '');
    const stars = Math.max(0, Math.min(5, Number(call.rating) || 0));
    const rating = cell('c-rating', stars ? '★'.repeat(stars) + '☆'.repeat(5 - stars) : '—');
    rating.dataset.rating = call.rating ? String(call.rating) : '';
    if (call.rating) rating.title = `${call.rating} of 5`;
    cell('c-recording', '').dataset.recording = '';
    el.callsBody.append(tr);
    recordingCells.track(call);
  }
  el.callsEmpty.hidden = calls.length > 0;
}

async function refreshState() {
  const { client } = cc;
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
  logClientEvents(c, log);
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
  monitorNotice.attach(c);
  c.on(EVENT.CALL_HELD, ({ callId }) => { if (callId === cc.callId) callTransfer.held(true); });
  c.on(EVENT.CALL_RESUMED, ({ callId }) => { if (callId === cc.callId) callTransfer.held(false); });
  c.on(EVENT.CONSULT_ENDED, ({ callId, outcome }) => {
    if (callId === cc.callId && outcome === 'failed') callTransfer.consultFailed();
  });
  c.on(EVENT.USER_ENTER, ({ callId, userID }) => { if (callId === cc.callId) callTransfer.colleagueJoined(userID); });
  // A dropped connection that may come back (docs/protocol.md, Resume): ours, or the customer's.
  c.on(EVENT.RECONNECTING, ({ callId, userID }) => {
    if (callId !== cc.callId) return;
    notice('info', userID === cc.agentId ? 'Connection lost; reconnecting…'
      : 'The customer\'s connection dropped; waiting for them to come back…');
  });
  c.on(EVENT.RECONNECTED, ({ callId, userID }) => {
    if (callId !== cc.callId) return;
    notice('info', userID === cc.agentId ? 'Reconnected; the call goes on.' : 'The customer is back.');
  });
  c.on(EVENT.MEDIA_STALLED, (d) => showStalled(d, true));
  c.on(EVENT.MEDIA_FLOWING, (d) => showStalled(d, false));
  c.on(EVENT.RECORDING, ({ callId, state, reason }) => {
    if (state === 'started') {
      recordingCells.started(callId);
    } else if (reason === 'failed' && callId === cc.callId) {
      notice('error', 'The recorder cannot be reached; this call goes on unrecorded from now.');
    }
    renderRecordingBadge();
  });
  c.on(EVENT.USER_VIDEO_AVAILABLE, ({ callId, isVideoAvailable }) => {
    if (callId === cc.callId) callView.remoteVideo(isVideoAvailable);
  });
  c.on(EVENT.CALL_TYPE_CHANGED, ({ callId, newCallType }) => {
    if (callId === cc.callId) callView.typeChanged(newCallType);
  });
  c.on(EVENT.KICKED_OUT, () => {
    notice('error', 'You signed in somewhere else; this console is signed out.');
    showLoggedOut('Signed in elsewhere.');
  });
  c.on(EVENT.ERROR, ({ code, message }) => notice('error', `${code}: ${message}`));
}

/** Asks the server to check the agent's id and password: resolves with its answer. */
async function agentLogin(appId, agentId, password) {
  try {
    return await fetchJSON(at('/api/agent-login'), { body: { appId, agentId, password } });
  } catch (err) {
    const message = {
      BAD_LOGIN: 'Wrong agent id or password.',
      RATE_LIMITED: 'Too many attempts; wait a minute.',
    }[err.code] || (err.code.startsWith('HTTP_') ? `Sign-in failed (HTTP ${err.status}).` : err.message);
    throw Object.assign(new Error(message), { code: err.code });
  }
}

// The signed-in session survives a reload of the console for the credential's life: it is kept
// in sessionStorage (this tab only, gone with it; never in a URL, where proxies and the history
// would keep it). With it, on `pagehide`, what the SDK needs to resume the session (its resume
// token and last event number): a reload within the server's resume window takes the call in
// progress up again, media and all (docs/protocol.md, "Resume from a new page").
const SESSION_KEY = 'callcenter.console.session';

function savedSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    // The credential's expiry, read from its payload (base64url JSON); the server checks it.
    const payload = saved && saved.userSig.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = payload && JSON.parse(atob(payload));
    if (claims && claims.exp * 1000 > Date.now() + 5000) return saved;
  } catch (err) { /* unreadable: sign in again */ }
  forgetSession();
  return null;
}

function forgetSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

async function login(ev) {
  ev.preventDefault();
  el.loginError.textContent = '';
  el.login.disabled = true;
  const appId = el.appId.value.trim();
  try {
    const body = await agentLogin(appId, el.agentId.value.trim(), el.password.value);
    el.password.value = '';
    await startSession({ ...body, appId: body.appId || appId });
  } catch (err) {
    el.loginError.textContent = err.message || String(err);
  } finally {
    el.login.disabled = false;
  }
}

/** The app's break reasons and dispositions (the login answer's, administered) in their selects;
 * the disabled "Reason…" prompt and "Other…" stay. A console signed in before a change keeps
 * the lists it got until its next sign-in. */
function renderReasons(body) {
  const options = (list) => list.map(({ code, label }) => new Option(label, code));
  if (Array.isArray(body.breakReasons)) {
    el.breakReason.replaceChildren(el.breakReason.options[0], ...options(body.breakReasons));
  }
  if (Array.isArray(body.dispositions)) {
    const other = [...el.disposition.options].find((o) => o.value === 'other');
    el.disposition.replaceChildren(...options(body.dispositions), other);
  }
}

/** Signs in with a credential from /api/agent-login (or kept from before a reload). */
async function startSession(body) {
  try {
    const client = new CallClient({ appId: body.appId });
    cc.client = client;
    wire(client);
    const resume = body.resume && body.resume.userID === body.userID ? body.resume : {};
    const ack = await client.login({
      userID: body.userID, userSig: body.userSig, resumeToken: resume.resumeToken, lastSeq: resume.lastSeq,
    });
    const credential = { ...body };
    delete credential.resume; // saved again on pagehide, with the events seen by then
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(credential));
    cc.agentId = body.userID;
    cc.userSig = body.userSig;
    el.agentName.textContent = body.name || body.userID;
    el.agentUserId.textContent = body.userID;
    el.loginSection.hidden = true;
    el.session.hidden = false;
    if (body.role === 'supervisor') {
      // The page is the supervisor's view now: its title says so.
      document.getElementById('console-kind').textContent = 'supervisor view';
      document.title = 'Supervisor view · callcenter';
      // Shown before it starts: Chart.js sizes its canvases from their (visible) parents.
      el.supervisor.hidden = false;
      cc.supervisor = new SupervisorView(client, body.userSig);
      await cc.supervisor.start();
      if (body.admin) {
        cc.admin = new AdminView(body.userSig);
        await cc.admin.start();
      }
      log('login', { userID: body.userID, role: body.role, admin: Boolean(body.admin) });
      return;
    }
    renderReasons(body);
    el.workspace.hidden = false;
    client.startLocalView({ userID: cc.agentId, videoViewDomID: 'local-video' });
    log('login', { userID: body.userID, queues: body.queues || [] });
    if (ack.call) resumeCall(ack.call);
    await refreshState();
    cc.refreshTimer = setInterval(refreshState, REFRESH_MS);
  } catch (err) {
    forgetSession();
    stopSupervisor();
    el.loginSection.hidden = false;
    el.session.hidden = true;
    if (cc.client) { cc.client.logout(); cc.client = null; }
    throw err;
  }
}

function stopSupervisor() {
  if (cc.supervisor) cc.supervisor.stop();
  cc.supervisor = null;
  if (cc.admin) cc.admin.stop();
  cc.admin = null;
  el.supervisor.hidden = true;
}

function showLoggedOut(message) {
  stopSupervisor();
  document.getElementById('console-kind').textContent = 'agent console';
  document.title = 'Agent console · callcenter';
  clearInterval(cc.refreshTimer);
  cc.refreshTimer = null;
  hideOffer();
  el.call.hidden = true;
  el.callStalled.hidden = true;
  callView.ended();
  el.wrapUp.hidden = true;
  el.workspace.hidden = true;
  el.session.hidden = true;
  el.loginSection.hidden = false;
  el.loginError.textContent = message || '';
  cc.agent = null;
  cc.wrapCallId = null;
  cc.callId = null;
  cc.userSig = null;
  forgetSession();
  recordingCells.forget();
  el.callsBody.replaceChildren();
}

async function logout() {
  const c = cc.client;
  if (!c) return;
  if (!cc.supervisor) {
    try { await c.setAgentStatus('offline'); } catch (err) { /* going anyway */ }
  }
  await c.logout();
  cc.client = null;
  showLoggedOut('');
}

// ------------------------------------------------------------------ controls

el.loginForm.addEventListener('submit', login);
const kept = savedSession();
if (kept) {
  el.appId.value = kept.appId;
  el.agentId.value = kept.userID;
  startSession(kept).catch((err) => { el.loginError.textContent = err.message || String(err); });
}
el.logout.addEventListener('click', logout);
el.status.addEventListener('change', setStatus);
el.breakReason.addEventListener('change', () => { if (el.status.value === 'break') setStatus(); });
el.accept.addEventListener('click', acceptOffer);
el.reject.addEventListener('click', rejectOffer);
el.disposition.addEventListener('change', () => {
  el.dispositionOther.hidden = el.disposition.value !== 'other';
  if (!el.dispositionOther.hidden) el.dispositionOther.focus();
});
el.wrapForm.addEventListener('submit', submitWrap);
el.callsRefresh.addEventListener('click', refreshState);
// What the next page of this tab needs to resume the session (see SESSION_KEY).
window.addEventListener('pagehide', () => {
  const kept = cc.client && cc.client.session;
  const saved = kept && JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  if (saved) sessionStorage.setItem(SESSION_KEY, JSON.stringify({ ...saved, resume: kept }));
});
window.addEventListener('beforeunload', (ev) => {
  if (cc.callId) { ev.preventDefault(); ev.returnValue = ''; }
});

setInterval(() => {
  tickStateTime();
  queueTiles.tick();
  tickOffer();
  tickWrap();
}, TICK_MS);
