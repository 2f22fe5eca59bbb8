// The console's supervisor view: the app right now (queues, agents, calls) from the live pushes
// (`supervisorWatch()` / SUPERVISOR_STATS), the numbers of a window (today, yesterday, the last 7
// days) as charts from /api/stats, and the recent calls from /api/calls with one call's timeline
// and recording. Element ids are documented at the top of index.html. Everything the server sends
// (names, notes, dispositions) goes in through textContent, never innerHTML.
import CallClient from '../sdk/callcenter.js';
import { downloadThroughLink, playThroughLinks } from './links.js';
import { MonitorButtons } from './monitor-controls.js';
import { addCell } from './table-cell.js';
import { eventLog } from '../ui/event-log.js';
import { at } from '../ui/base.js';
import { fetchJSON } from '../ui/json-api.js';
import { QueueTiles } from '../ui/queue-tiles.js';
import { clockTime, mmss, nowSeconds } from '../ui/time.js';

const { EVENT } = CallClient;
const $ = (id) => document.getElementById(id);

// Chart.js's UMD build: its ESM build imports a bare module name ('@kurkle/color') that a browser
// cannot resolve without an import map. Imported as a module, the UMD build sets globalThis.Chart.
// The timeline says what happened in words; the event names (docs/plugins.md) stay in
// li[data-event] and in the API.
const EVENT_WORDS = {
  'queue.joined': 'Joined the queue', 'queue.offered': 'Offered to an agent',
  'queue.ring_no_answer': 'Not answered in time', 'queue.offer_rejected': 'Refused by the agent',
  'queue.answered': 'Answered', 'queue.abandoned': 'Customer hung up while waiting',
  'queue.timed_out': 'Waited too long', 'queue.overflowed': 'Moved to another queue',
  'queue.completed': 'Completed', 'queue.long_wait': 'Waiting long',
  'call.invited': 'Rang', 'call.accepted': 'Accepted', 'call.rejected': 'Rejected',
  'call.cancelled': 'Cancelled', 'call.timed_out': 'Not answered', 'call.left': 'Left the call',
  'call.ended': 'Call ended', 'call.interrupted': 'Cut by a server restart',
  'call.media_stalled': 'Media stopped', 'call.media_flowing': 'Media back',
  'call.rated': 'Rated', 'agent.wrap_up': 'Wrap-up saved', 'agent.state': 'Agent state',
  'agent.status': 'Agent status', 'recording.unavailable': 'Not recorded',
  'user.kicked_out': 'Signed in elsewhere',
  'call.held': 'Put on hold', 'call.resumed': 'Taken off hold', 'call.transferred': 'Transferred',
  'call.transfer_failed': 'Transfer not taken', 'call.consult_started': 'Consult began',
  'call.consult_ended': 'Consult ended', 'call.conference': 'Conference',
  'monitor.started': 'Supervisor began monitoring', 'monitor.changed': 'Monitoring mode changed',
  'monitor.ended': 'Monitoring ended', 'callback.requested': 'Asked to be called back',
  'callback.offered': 'Callback offered to an agent', 'callback.completed': 'Called back',
  'callback.unreachable': 'Could not be called back',
};
// The record's segments (docs/protocol.md, "Call control"), said in words.
const SEGMENT_WORDS = {
  talk: (s, who) => `Talk with ${who(s.agent)}`,
  hold: (s, who) => `On hold (${who(s.by)})`,
  transfer: (s, who) => `Transfer by ${who(s.by)} to ${s.to ? who(s.to) : `queue ${s.queue}`}`,
  consult: (s, who) => `Consult: ${who(s.by)} with ${who(s.to)}`,
  monitor: (s, who) => `${who(s.by)} monitored ${who(s.agent)} (${[s.mode, ...(s.changes || []).map((c) => c.mode)].join(' → ')})`,
};
const CHART_JS = './vendor/chart.js/chart.umd.min.js'; // beside this module: /console/vendor/
const HISTORY_REFRESH_MS = 10000;
const RECENT_LIMIT = 20;
// A call's history row is written by a background task shortly after the live view shows it
// ended: read the history once more after this delay so the ended call is there with its numbers.
const AFTER_CALL_END_MS = 1500;
// The recording of a call is indexed a few seconds after it ends: look again this often, this long.
const RECORDING_POLL_MS = 1000;
const RECORDING_WAIT_S = 60;
const TICK_MS = 1000;

const STATE_NAMES = {
  available: 'Available', ringing: 'Ringing', in_call: 'In call', wrap_up: 'Wrap-up',
  break: 'On break', offline: 'Offline', waiting: 'Waiting', on_hold: 'On hold',
  transferring: 'Transferring',
};
// The calls now that an agent has answered: their time runs from the answer.
const ANSWERED = new Set(['in_call', 'on_hold', 'transferring']);
const COLORS = {
  offered: '#2563eb', answered: '#16a34a', abandoned: '#dc2626', serviceLevel: '#7e22ce',
};
const WINDOWS = {
  today: { label: 'today', days: [0, 1], interval: 3600 },
  yesterday: { label: 'yesterday', days: [-1, 0], interval: 3600 },
  week: { label: 'the last 7 days', days: [-6, 1], interval: 86400 },
};

function percent(fraction) {
  return typeof fraction === 'number' ? `${Math.round(fraction * 100)}%` : '—';
}

function seconds(value) {
  return typeof value === 'number' ? mmss(Math.round(value)) : '—';
}

/**
 * A row of the live tables: tr[data-<key>=<id>][data-state][data-since], `since` the server time
 * (epoch s) its clock counts from, which tick() shows.
 */
function liveRow(key, id, state, since) {
  const tr = document.createElement('tr');
  tr.dataset[key] = id;
  tr.dataset.state = state || '';
  tr.dataset.since = typeof since === 'number' ? String(since) : '';
  return tr;
}

function stateBadge(state, text) {
  const span = document.createElement('span');
  span.className = 'sv-state';
  span.dataset.state = state || '';
  span.textContent = text || STATE_NAMES[state] || state || '';
  return span;
}

/** [from, to) in epoch seconds for a window, in local days (so "today" starts at local midnight). */
function windowRange(name) {
  const spec = WINDOWS[name] || WINDOWS.today;
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  const day = (offset) => {
    const d = new Date(midnight);
    d.setDate(d.getDate() + offset);
    return d.getTime() / 1000;
  };
  return { from: day(spec.days[0]), to: day(spec.days[1]), interval: spec.interval, label: spec.label };
}

// The summary's numbers, in order, with the definitions of docs/statistics.md for their tooltips.
// `t` is the summary's thresholds ({serviceLevelSeconds, shortAbandonSeconds}).
const METRICS = [
  { key: 'offered', name: 'Offered', format: String,
    title: () => 'Queue calls that joined in the window: answered, abandoned, short abandons, timed out, interrupted and still waiting.' },
  { key: 'answered', name: 'Answered', format: String,
    title: () => 'Calls an agent answered, ended or still in progress.' },
  { key: 'abandoned', name: 'Abandoned', format: String,
    title: (t) => `Callers who hung up in the queue after waiting at least ${t.shortAbandonSeconds} s.` },
  { key: 'shortAbandoned', name: 'Short abandons', format: String,
    title: (t) => `Callers who hung up within ${t.shortAbandonSeconds} s (most likely misdials); left out of service level and abandon rate.` },
  { key: 'serviceLevel', name: 'Service level', format: percent,
    title: (t) => `Calls answered within ${t.serviceLevelSeconds} s, divided by the calls whose fate in the queue is known (answered + abandoned + timed out). Short abandons and calls still waiting are left out.` },
  { key: 'asa', name: 'ASA', format: seconds,
    title: () => 'Average speed of answer: the mean wait of the answered calls (mm:ss).' },
  { key: 'aht', name: 'AHT', format: seconds,
    title: () => 'Average handle time: the mean talk + hold + wrap-up of the answered calls that have ended (mm:ss).' },
  { key: 'abandonRate', name: 'Abandon rate', format: percent,
    title: () => 'Abandoned calls divided by offered calls minus short abandons and calls still waiting.' },
  { key: 'occupancy', name: 'Occupancy', format: percent,
    title: () => "The agents' time handling calls (in a call or wrap-up) divided by their handling plus available time." },
];

export class SupervisorView {
  /**
   * @param {CallClient} client logged in with a supervisor credential
   * @param {string} userSig that credential: the REST API and recordings take it too
   */
  constructor(client, userSig) {
    this.client = client;
    this.userSig = userSig;
    this.el = {
      root: $('supervisor'), error: $('sv-error'), queues: $('sv-queues'),
      agentsBody: $('sv-agents-body'), callsBody: $('sv-calls-body'), callsEmpty: $('sv-calls-empty'),
      window: $('sv-window'), exportLink: $('sv-export'), summary: $('sv-summary'),
      volumeCanvas: $('sv-volume-chart'), slCanvas: $('sv-sl-chart'),
      volumeCaption: $('sv-volume-caption'), slCaption: $('sv-sl-caption'),
      volumeEmpty: $('sv-volume-empty'), slEmpty: $('sv-sl-empty'),
      statsUpdated: $('sv-stats-updated'), statsError: $('sv-stats-error'),
      recentBody: $('sv-recent-body'), recentEmpty: $('sv-recent-empty'), recentRefresh: $('sv-recent-refresh'),
      detail: $('sv-detail'), detailId: $('sv-detail-id'), detailFacts: $('sv-detail-facts'),
      timeline: $('sv-timeline'), recording: $('sv-recording'), segments: $('sv-segments'),
    };
    // What the browser tests and a curious developer look at (window.supervisorView, documented
    // in index.html); the view itself never reads the global.
    this.state = {
      client, events: [], live: null, stats: null, recent: [], detail: null,
      charts: { volume: null, serviceLevel: null },
    };
    window.supervisorView = this.state;
    this.log = eventLog(this.state.events);
    this.queueTiles = new QueueTiles(this.el.queues, {
      prefix: 'sq',
      tileClass: 'sv-queue',
      lines: [
        { cls: 'sq-in-progress', label: 'in progress ', value: (q) => q.inProgress ?? 0 },
        { cls: 'sq-available', label: 'agents available ', value: (q) => (q.agents || {}).available ?? 0 },
      ],
      data: (q) => ({ inProgress: String(q.inProgress ?? 0), available: String((q.agents || {}).available ?? 0) }),
      title: (q) => Object.entries(q.agents || {}).map(([s, n]) => `${STATE_NAMES[s] || s}: ${n}`).join(', '),
    });
    this.skew = 0; // server clock minus this clock (s), from the pushes' `at`
    this.callIds = new Set(); // the calls of the last live view, to see which ended
    this.agentClocks = new Map(); // agentId -> {state, since, from}: see agentStateStart
    this.timers = [];
    this.historySeq = 0; // answers of an older history request are dropped
    this.detailSeq = 0;
    this.recordingTimer = null;
    this.afterEndTimer = null;
    this.Chart = null;
    this.chartError = '';
    this.stopped = false;
    this.listeners = [];
  }

  serverNow() { return nowSeconds() + this.skew; }

  listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.listeners.push([target, type, fn]);
  }

  /** Opens the live view and loads the history; rejects when the live view cannot be opened. */
  async start() {
    const onStats = (view) => this.renderLive(view);
    const onError = ({ code, message }) => { this.el.error.textContent = `${code}: ${message}`; };
    this.client.on(EVENT.SUPERVISOR_STATS, onStats);
    this.client.on(EVENT.ERROR, onError);
    this.offClient = () => {
      this.client.off(EVENT.SUPERVISOR_STATS, onStats);
      this.client.off(EVENT.ERROR, onError);
    };
    this.listen(this.el.window, 'change', () => { this.state.stats = null; this.refreshHistory(); });
    this.listen(this.el.recentRefresh, 'click', () => this.refreshHistory());
    // The export's href names the window only (no credential in it): the click fetches a
    // signed link for that URL and downloads through it.
    this.listen(this.el.exportLink, 'click', (ev) => {
      ev.preventDefault();
      const link = this.el.exportLink;
      downloadThroughLink(link.getAttribute('href'), link.getAttribute('download') || 'calls.csv',
        this.userSig).catch((err) => {
        this.el.statsError.textContent = `Could not export the calls: ${err.message}`;
      });
    });
    this.listen(this.el.recentBody, 'click', (ev) => {
      const tr = ev.target.closest('tr[data-call-id]');
      if (tr) this.openCall(tr.dataset.callId);
    });
    this.monitor = new MonitorButtons(this.el.callsBody, {
      client: this.client, error: this.el.error, log: (n, d) => this.log(n, d),
    });
    this.renderLive(await this.client.supervisorWatch());
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.timers.push(setInterval(() => this.refreshHistory(), HISTORY_REFRESH_MS));
    try {
      await import(CHART_JS);
      this.Chart = globalThis.Chart;
    } catch (err) {
      // The live view and the numbers still work without the charts.
      this.chartError = `Charts unavailable: ${err.message || err}`;
      this.el.statsError.textContent = this.chartError;
    }
    await this.refreshHistory();
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.recordingTimer);
    clearTimeout(this.afterEndTimer);
    if (this.offClient) this.offClient();
    if (this.monitor) this.monitor.stop();
    this.monitor = null;
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
    this.listeners = [];
    for (const chart of Object.values(this.state.charts)) if (chart) chart.destroy();
    this.state.charts = { volume: null, serviceLevel: null };
    const audio = this.el.recording.querySelector('audio');
    if (audio) { audio.pause(); audio.removeAttribute('src'); audio.load(); }
    for (const node of [this.el.queues, this.el.agentsBody, this.el.callsBody, this.el.summary,
      this.el.recentBody, this.el.detailFacts, this.el.segments, this.el.timeline, this.el.recording]) {
      node.replaceChildren();
    }
    this.el.detail.hidden = true;
    this.el.recording.dataset.recording = '';
    for (const node of [this.el.error, this.el.statsError, this.el.statsUpdated]) node.textContent = '';
    if (window.supervisorView === this.state) window.supervisorView = null;
  }

  // ---------------------------------------------------------------- the live view

  renderLive(view) {
    if (this.stopped) return;
    if (typeof view.at === 'number') this.skew = view.at - nowSeconds();
    this.state.live = view;
    this.log('SUPERVISOR_STATS', view);
    this.queueTiles.render(view.queues);
    this.renderAgents(view.agents);
    this.renderCalls(view.calls);
    const ids = new Set(view.calls.map((c) => c.callId));
    const ended = [...this.callIds].filter((id) => !ids.has(id));
    this.callIds = ids;
    if (ended.length) {
      this.log('calls_ended', ended);
      this.refreshHistory();
      clearTimeout(this.afterEndTimer);
      this.afterEndTimer = setTimeout(() => this.refreshHistory(), AFTER_CALL_END_MS);
    }
    this.tick();
  }

  /**
   * When the agent's shown state began (server epoch s), or null when unknown. `since` is when
   * the system state (waiting, ringing, in_call, wrap_up) began; the shown state also follows the
   * status the agent chooses (available, break, offline), which leaves `since` as it was. So a
   * change of shown state with the same `since` is timed from when this view saw it.
   */
  agentStateStart(a) {
    // `since` is 0 for an agent whose state has not changed since the server started.
    const since = typeof a.since === 'number' && a.since > 1e9 ? a.since : null;
    const prev = this.agentClocks.get(a.agentId);
    let from = since;
    if (prev && prev.since === since && prev.state !== a.state) from = this.serverNow();
    else if (prev && prev.since === since) from = prev.from;
    this.agentClocks.set(a.agentId, { state: a.state, since, from });
    return from;
  }

  renderAgents(agents) {
    this.el.agentsBody.replaceChildren();
    for (const a of agents) {
      const tr = liveRow('agentId', a.agentId, a.state, this.agentStateStart(a));
      const name = addCell(tr, 'a-name', a.name || a.agentId);
      if (a.name && a.name !== a.agentId) name.title = a.agentId;
      const reason = a.state === 'break' && a.reason && a.reason !== 'break' ? ` (${a.reason})` : '';
      addCell(tr, 'a-state', '').append(stateBadge(a.state, (STATE_NAMES[a.state] || a.state) + reason));
      addCell(tr, 'a-time', '');
      addCell(tr, 'a-queues', (a.queues || []).join(', '));
      addCell(tr, 'a-answered', String(a.answered ?? 0));
      this.el.agentsBody.append(tr);
    }
  }

  renderCalls(calls) {
    this.el.callsBody.replaceChildren();
    for (const c of calls) {
      // Waiting and ringing calls count their time in the queue; answered ones their talk time.
      const from = ANSWERED.has(c.state) && typeof c.answeredAt === 'number' ? c.answeredAt : c.joinedAt;
      const tr = liveRow('callId', c.callId, c.state, from);
      addCell(tr, 'l-queue', c.queue || '');
      addCell(tr, 'l-customer', c.customer || '');
      addCell(tr, 'l-state', '').append(stateBadge(c.state));
      // The agent by name, as in the agents' table beside it (the id in the tooltip).
      const agent = c.agent && (this.state.live?.agents || []).find((a) => a.agentId === c.agent);
      const agentCell = addCell(tr, 'l-agent', (agent && agent.name) || c.agent || '');
      if (agent && agent.name && agent.name !== c.agent) agentCell.title = c.agent;
      addCell(tr, 'l-time', '');
      addCell(tr, 'l-position', typeof c.position === 'number' ? String(c.position) : '');
      if (this.monitor) this.monitor.cell(tr, c);
      this.el.callsBody.append(tr);
    }
    this.el.callsEmpty.hidden = calls.length > 0;
  }

  tick() {
    const now = this.serverNow();
    for (const tr of this.el.agentsBody.querySelectorAll('tr')) {
      const since = Number(tr.dataset.since);
      tr.querySelector('.a-time').textContent = since ? mmss(now - since) : '—';
    }
    for (const tr of this.el.callsBody.querySelectorAll('tr')) {
      const since = Number(tr.dataset.since);
      tr.querySelector('.l-time').textContent = since ? mmss(now - since) : '';
    }
    // The oldest unanswered call of a queue gives its longest wait to the second; the pushed
    // figure covers a call list that lags behind.
    const calls = (this.state.live && this.state.live.calls) || [];
    this.queueTiles.tick((queue) => {
      let longest = null;
      for (const c of calls) {
        if (c.queue === queue && !ANSWERED.has(c.state) && typeof c.joinedAt === 'number') {
          longest = Math.max(longest ?? 0, now - c.joinedAt);
        }
      }
      return longest;
    });
  }

  // ---------------------------------------------------------------- history: stats and calls

  api(path) {
    return fetchJSON(at(path), { userSig: this.userSig });
  }

  /** Reloads the window's statistics and the recent calls (each shown as soon as it is here). */
  async refreshHistory() {
    if (this.stopped) return;
    const seq = ++this.historySeq;
    const range = windowRange(this.el.window.value);
    const query = `from=${range.from}&to=${range.to}`;
    this.el.exportLink.href = `/api/calls.csv?${query}`;
    this.el.exportLink.setAttribute('download', `calls-${this.el.window.value}.csv`);
    const stats = this.api(`/api/stats?${query}&interval=${range.interval}`).then((body) => {
      if (seq !== this.historySeq || this.stopped) return;
      this.state.stats = { ...body, window: this.el.window.value };
      this.renderSummary(body.summary);
      this.renderCharts(body.series, range);
      this.el.statsError.textContent = this.chartError;
      this.el.statsUpdated.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
      this.log('stats', { window: this.el.window.value, summary: body.summary });
    }).catch((err) => {
      if (seq === this.historySeq) this.el.statsError.textContent = `Could not load the statistics: ${err.message}`;
    });
    const recent = this.api(`/api/calls?limit=${RECENT_LIMIT}`).then((body) => {
      if (seq !== this.historySeq || this.stopped) return;
      this.renderRecent(body.calls);
    }).catch((err) => {
      if (seq === this.historySeq) this.el.error.textContent = `Could not load the recent calls: ${err.message}`;
    });
    await Promise.all([stats, recent]);
  }

  renderSummary(summary) {
    const t = summary.thresholds || {
      serviceLevelSeconds: summary.serviceLevelThreshold ?? 20, shortAbandonSeconds: 5,
    };
    const dl = this.el.summary;
    if (!dl.children.length) {
      for (const m of METRICS) {
        const div = document.createElement('div');
        const dt = document.createElement('dt');
        dt.textContent = m.name;
        const dd = document.createElement('dd');
        dd.dataset.metric = m.key;
        div.append(dt, dd);
        dl.append(div);
      }
    }
    for (const m of METRICS) {
      const dd = dl.querySelector(`dd[data-metric="${m.key}"]`);
      dd.previousElementSibling.title = m.title(t);
      const value = summary[m.key];
      dd.textContent = value === null || value === undefined ? '—' : m.format(value);
    }
  }

  renderCharts(series, range) {
    const hourly = range.interval < 86400;
    const per = hourly ? 'hour' : 'day';
    this.el.volumeCaption.textContent = `Calls per ${per}, ${range.label}`;
    this.el.slCaption.textContent = `Service level per ${per}, ${range.label} (%)`;
    const labels = series.map((p) => (hourly ? clockTime(p.start)
      : new Date(p.start * 1000).toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' })));
    const pick = (key) => series.map((p) => p[key] ?? 0);
    const sl = series.map((p) => (typeof p.serviceLevel === 'number' ? Math.round(p.serviceLevel * 1000) / 10 : null));
    const totals = { offered: 0, answered: 0, abandoned: 0 };
    for (const p of series) for (const k of Object.keys(totals)) totals[k] += p[k] || 0;
    // A canvas says nothing to a screen reader: its label carries the numbers in words.
    this.el.volumeCanvas.setAttribute('aria-label', `${this.el.volumeCaption.textContent}: `
      + `${totals.offered} offered, ${totals.answered} answered, ${totals.abandoned} abandoned`);
    const known = sl.filter((v) => v !== null);
    this.el.slCanvas.setAttribute('aria-label', `${this.el.slCaption.textContent}: ${known.length
      ? `from ${Math.min(...known)}% to ${Math.max(...known)}%` : 'no call with a known outcome yet'}`);
    // An empty chart says so, rather than showing bare axes.
    this.el.volumeEmpty.hidden = totals.offered > 0;
    this.el.slEmpty.hidden = known.length > 0;
    if (!this.Chart) return;

    const { charts } = this.state;
    const volume = [
      { label: 'Offered', data: pick('offered'), backgroundColor: COLORS.offered },
      { label: 'Answered', data: pick('answered'), backgroundColor: COLORS.answered },
      { label: 'Abandoned', data: pick('abandoned'), backgroundColor: COLORS.abandoned },
    ];
    const level = [{
      label: 'Service level', data: sl, borderColor: COLORS.serviceLevel,
      backgroundColor: COLORS.serviceLevel, pointRadius: 4, spanGaps: true, tension: 0.2,
      // 100% sits on the plot's top edge: draw the whole point, not the half inside the plot.
      clip: false,
    }];
    if (charts.volume) {
      // Update in place: a refresh every 10 s must not rebuild (or animate) the charts.
      charts.volume.data.labels = labels;
      charts.volume.data.datasets.forEach((ds, i) => { ds.data = volume[i].data; });
      charts.volume.update('none');
      charts.serviceLevel.data.labels = labels;
      charts.serviceLevel.data.datasets[0].data = sl;
      charts.serviceLevel.update('none');
      return;
    }
    const { Chart } = this;
    const common = {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { position: 'bottom' } },
    };
    charts.volume = new Chart(this.el.volumeCanvas, {
      type: 'bar',
      data: { labels, datasets: volume },
      options: { ...common, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    charts.serviceLevel = new Chart(this.el.slCanvas, {
      type: 'line',
      data: { labels, datasets: level },
      options: {
        ...common,
        scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } },
        plugins: { ...common.plugins, legend: { display: false } },
      },
    });
  }

  renderRecent(calls) {
    const key = JSON.stringify(calls);
    // Unchanged: keep the rows, so a refresh every 10 s does not take the keyboard focus away.
    if (key === this.recentKey) return;
    this.recentKey = key;
    this.state.recent = calls;
    this.log('recent', calls.map((c) => c.callId));
    const selected = this.state.detail && this.state.detail.callId;
    this.el.recentBody.replaceChildren();
    for (const c of calls) {
      const tr = document.createElement('tr');
      tr.dataset.callId = c.callId;
      if (c.callId === selected) tr.setAttribute('aria-current', 'true');
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'link r-open';
      open.textContent = typeof c.joinedAt === 'number' ? clockTime(c.joinedAt) : c.callId;
      // The name holds what the button shows (speech control users say what they see).
      const who = c.customerName || c.customerId || '';
      open.setAttribute('aria-label', `Show the call at ${open.textContent}${who ? ` with ${who}` : ''}`);
      addCell(tr, 'r-time', '').append(open);
      addCell(tr, 'r-queue', c.queue || (c.kind === 'direct' ? 'direct' : ''));
      addCell(tr, 'r-customer', c.customerName || c.customerId || '');
      addCell(tr, 'r-agent', c.agent || '');
      addCell(tr, 'r-wait', typeof c.wait === 'number' ? mmss(c.wait) : '');
      addCell(tr, 'r-talk', typeof c.talk === 'number' ? mmss(c.talk) : '');
      addCell(tr, 'r-outcome', c.outcome || (c.endedAt ? '' : 'in progress'));
      const rec = addCell(tr, 'r-recorded', c.recorded ? '●' : '');
      rec.dataset.recorded = String(!!c.recorded);
      if (c.recorded) rec.title = 'Recorded';
      this.el.recentBody.append(tr);
    }
    this.el.recentEmpty.hidden = calls.length > 0;
  }

  // ---------------------------------------------------------------- one call

  async openCall(callId) {
    const seq = ++this.detailSeq;
    clearTimeout(this.recordingTimer);
    for (const tr of this.el.recentBody.querySelectorAll('tr')) {
      if (tr.dataset.callId === callId) tr.setAttribute('aria-current', 'true');
      else tr.removeAttribute('aria-current');
    }
    let call;
    try {
      call = (await this.api(`/api/calls/${encodeURIComponent(callId)}`)).call;
    } catch (err) {
      if (seq === this.detailSeq) this.el.error.textContent = `Could not load call ${callId}: ${err.message}`;
      return;
    }
    if (seq !== this.detailSeq || this.stopped) return;
    this.state.detail = call;
    this.log('detail', { callId, events: call.events.map((e) => e.event) });
    this.el.detailId.textContent = callId;
    this.renderFacts(call);
    this.renderSegments(call);
    this.renderTimeline(call.events || [], call);
    this.renderRecording(call, seq, nowSeconds() + RECORDING_WAIT_S);
    this.el.detail.hidden = false;
  }

  renderFacts(call) {
    const facts = [
      ['Queue', call.queue], ['Customer', call.customerName || call.customerId], ['Agent', call.agent],
      ['Wait', typeof call.wait === 'number' ? mmss(call.wait) : ''],
      ['Talk', typeof call.talk === 'number' ? mmss(call.talk) : ''],
      // On hold, or waiting for a transfer's target: not in the talk above.
      ['Hold', call.hold ? mmss(call.hold) : ''],
      // Seconds in which a side received no media (a frozen browser): not in the talk above.
      ['Silent', call.silentSeconds ? mmss(call.silentSeconds) : ''],
      ['Outcome', [call.outcome, call.endReason && `(${call.endReason})`].filter(Boolean).join(' ')],
      ['Disposition', call.disposition], ['Notes', call.notes],
      ['Rating', call.rating ? `${call.rating} of 5` : ''],
    ];
    this.el.detailFacts.replaceChildren();
    for (const [name, value] of facts) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value === null || value === undefined ? '' : String(value);
      this.el.detailFacts.append(dt, dd);
    }
  }

  /** Who talked with the customer and when, each hold, transfer and consult (the record's). */
  renderSegments(call) {
    this.el.segments.replaceChildren();
    const agents = (this.state.live && this.state.live.agents) || [];
    const who = (id) => (agents.find((a) => a.agentId === id) || {}).name || id || '';
    const start = typeof call.answeredAt === 'number' ? call.answeredAt : null;
    for (const s of call.segments || []) {
      const li = document.createElement('li');
      li.dataset.kind = s.kind;
      const words = SEGMENT_WORDS[s.kind];
      const span = typeof s.end === 'number' ? ` ${mmss(s.end - s.start)}` : ' (going on)';
      const at = start !== null ? `${mmss(Math.max(0, s.start - start))} in · ` : '';
      const outcome = s.outcome ? ` · ${s.outcome}` : '';
      li.textContent = `${at}${words ? words(s, who) : s.kind}${span}${outcome}${s.note ? ` · “${s.note}”` : ''}`;
      this.el.segments.append(li);
    }
  }

  renderTimeline(events, call = {}) {
    this.el.timeline.replaceChildren();
    const first = events.length ? events[0].at : 0;
    // People by name where the call knows it: the customer's id is a random c_… string.
    const person = (user) => (user && user === call.customerId && call.customerName) || user;
    for (const e of events) {
      const li = document.createElement('li');
      li.dataset.event = e.event;
      const time = document.createElement('time');
      time.dateTime = new Date(e.at * 1000).toISOString();
      time.textContent = clockTime(e.at, true);
      // How far into the call, said as such ("+00:05" read like a time zone).
      const offset = document.createElement('span');
      offset.className = 'offset';
      offset.textContent = e.at > first ? ` (${mmss(e.at - first)} in) ` : ' ';
      const name = document.createElement('strong');
      name.textContent = EVENT_WORDS[e.event] || e.event.replace(/^[a-z]+\./, '').replace(/_/g, ' ');
      li.append(time, offset, name);
      // Who, and the few fields that say what happened (the rest is in the API's answer).
      const details = e.user ? [person(e.user)] : [];
      for (const k of ['state', 'status', 'reason', 'queue', 'disposition', 'sender', 'to', 'outcome']) {
        if (typeof e[k] === 'string' && e[k]) details.push(`${k} ${e[k]}`);
      }
      if (details.length) li.append(` · ${details.join(' · ')}`);
      this.el.timeline.append(li);
    }
  }

  /** Shows the call's recording: a player when it is indexed; while a recorded call's file is
   * still being written, "processing…" and a look at the call again each second. */
  renderRecording(call, seq, deadline) {
    const box = this.el.recording;
    let state;
    if (call.recording) state = 'ready';
    else if (!call.recorded) state = 'none';
    else state = nowSeconds() < deadline ? 'processing' : 'unavailable';
    const old = box.querySelector('audio');
    const same = old && old.dataset.callId === call.callId;
    if (!(state === 'ready' && same)) {
      if (old) { old.pause(); old.removeAttribute('src'); old.load(); }
      box.replaceChildren();
    }
    box.dataset.recording = state;
    if (state === 'ready' && !same) {
      const audio = document.createElement('audio');
      audio.controls = true;
      audio.preload = 'metadata';
      audio.dataset.callId = call.callId;
      audio.setAttribute('aria-label', `Play the recording of call ${call.callId}`);
      box.append(audio);
      // An <audio src> cannot send the credential: a signed link for this one file instead.
      playThroughLinks(audio, `/api/recordings/${encodeURIComponent(call.callId)}/audio`,
        () => (this.stopped ? null : this.userSig)).catch((err) => {
        if (seq === this.detailSeq) box.dataset.linkError = err.code || 'error';
      });
      const r = call.recording;
      if (typeof r.duration === 'number') {
        const note = document.createElement('p');
        note.className = 'muted small-print';
        note.textContent = `Length ${mmss(r.duration)}${r.partial ? ' (partial: parts could not be recorded)' : ''}`;
        box.append(note);
      }
    } else if (state === 'processing') {
      box.textContent = 'processing…';
      this.recordingTimer = setTimeout(async () => {
        try {
          const again = (await this.api(`/api/calls/${encodeURIComponent(call.callId)}`)).call;
          if (seq === this.detailSeq && !this.stopped) {
            this.state.detail = again;
            this.renderRecording(again, seq, deadline);
          }
        } catch (err) {
          if (seq === this.detailSeq) this.renderRecording(call, seq, deadline);
        }
      }, RECORDING_POLL_MS);
    } else if (state === 'unavailable') {
      box.textContent = 'not available';
    } else if (state === 'none') {
      box.textContent = 'not recorded';
    }
  }
}
