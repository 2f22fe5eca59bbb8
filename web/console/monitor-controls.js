// Supervisor monitoring in the console (docs/protocol.md, "Supervisor monitoring"). For the
// supervisor: Listen / Whisper / Barge / Stop buttons in each answered call's row of "Calls now"
// (`MonitorButtons`; aria-pressed on the mode they monitor in). For the agent: "Sue is listening"
// and the like while a supervisor monitors their call (`MonitorNotice`), unless the app hides it
// (`shown: false`). Barge is the one mode the customer hears: its button says so in its title, so
// that nobody barges in by accident. Everything from the server goes in through textContent.

import CallClient from '../sdk/callcenter.js';

const { EVENT } = CallClient;

const MODES = [
  { mode: 'listen', label: 'Listen', title: 'Hear both sides; nobody hears you' },
  { mode: 'whisper', label: 'Whisper', title: 'Talk to the agent only; the customer does not hear you' },
  { mode: 'barge', label: 'Barge', title: 'Join the call: the customer hears you too' },
];
const ANSWERED = new Set(['in_call', 'on_hold']);

const DOING = {
  listen: (name) => `${name} is listening`,
  whisper: (name) => `${name} is whispering to you (the customer does not hear)`,
  barge: (name) => `${name} has joined the call: the customer hears them too`,
};

function who(supervisor) {
  return (supervisor && (supervisor.name || supervisor.userID)) || 'A supervisor';
}

export class MonitorButtons {
  /**
   * @param {Element} body the calls-now table's tbody (clicks are taken there)
   * @param {{client: CallClient, error: Element, log: Function}} deps
   */
  constructor(body, { client, error, log }) {
    Object.assign(this, { body, client, error, log });
    this.busy = false;
    this.onClick = (ev) => {
      const button = ev.target.closest('button[data-monitor]');
      const tr = button && button.closest('tr[data-call-id]');
      if (tr) this.choose(tr.dataset.callId, button.dataset.monitor);
    };
    body.addEventListener('click', this.onClick);
    this.onChange = () => this.refresh();
    for (const name of [EVENT.MONITOR_STARTED, EVENT.MONITOR_CHANGED, EVENT.MONITOR_ENDED]) {
      client.on(name, this.onChange);
    }
  }

  /** The monitoring cell of one call's row. */
  cell(tr, call) {
    const td = document.createElement('td');
    td.className = 'l-monitor';
    tr.append(td);
    if (!ANSWERED.has(call.state)) return td;
    const mine = this.client.monitorState;
    const others = (call.monitoredBy || []).filter((m) => !mine || m.userID !== mine.supervisor?.userID);
    if (others.length && !(mine && mine.callId === call.callId)) {
      // One supervisor per call: another one has it.
      const span = document.createElement('span');
      span.className = 'm-other muted';
      span.textContent = DOING[others[0].mode] ? DOING[others[0].mode](who(others[0])) : who(others[0]);
      td.append(span);
      return td;
    }
    const group = document.createElement('span');
    group.className = 'm-buttons';
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Monitor this call');
    for (const { mode, label, title } of MODES) {
      group.append(this.button(mode, label, title));
    }
    group.append(this.button('stop', 'Stop', 'Stop monitoring this call'));
    td.append(group);
    this.paint(tr);
    return td;
  }

  button(mode, label, title) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `secondary m-${mode}`;
    b.dataset.monitor = mode;
    b.textContent = label;
    b.title = title;
    return b;
  }

  /** Pressed: the mode this supervisor monitors the row's call in; Stop only while they do. */
  paint(tr) {
    const mine = this.client.monitorState;
    const here = mine && mine.callId === tr.dataset.callId ? mine.mode : null;
    for (const b of tr.querySelectorAll('button[data-monitor]')) {
      const { monitor } = b.dataset;
      if (monitor === 'stop') b.disabled = this.busy || !here;
      else {
        b.setAttribute('aria-pressed', String(monitor === here));
        b.disabled = this.busy || (!!mine && mine.callId !== tr.dataset.callId);
      }
    }
    tr.dataset.monitoring = here || '';
  }

  refresh() {
    for (const tr of this.body.querySelectorAll('tr[data-call-id]')) this.paint(tr);
  }

  async choose(callId, mode) {
    if (this.busy) return;
    this.busy = true;
    this.refresh();
    this.error.textContent = '';
    try {
      if (mode === 'stop') await this.client.stopMonitor();
      else await this.client.monitor({ callId, mode });
      this.log('monitor', { callId, mode });
    } catch (err) {
      this.error.textContent = `Could not ${mode === 'stop' ? 'stop monitoring' : mode}: ${err.code || ''} ${err.message || err}`;
    } finally {
      this.busy = false;
      this.refresh();
    }
  }

  stop() {
    this.body.removeEventListener('click', this.onClick);
    for (const name of [EVENT.MONITOR_STARTED, EVENT.MONITOR_CHANGED, EVENT.MONITOR_ENDED]) {
      this.client.off(name, this.onChange);
    }
    if (this.client.monitorState) this.client.stopMonitor().catch(() => {});
  }
}

export class MonitorNotice {
  /**
   * @param {Element} el a role=status element, hidden while nobody monitors the call
   * @param {{callId: () => string|null}} deps  callId: the call the console shows
   */
  constructor(el, { callId }) {
    this.el = el;
    this.callId = callId;
  }

  /** Follows one client's monitoring events (call once per client). */
  attach(client) {
    client.on(EVENT.MONITOR_STARTED, (m) => this.show(m));
    client.on(EVENT.MONITOR_CHANGED, (m) => this.show(m));
    client.on(EVENT.MONITOR_ENDED, (m) => this.hide(m));
  }

  show(m) {
    if (m.callId !== this.callId() || m.shown === false) return;
    this.el.textContent = (DOING[m.mode] || DOING.listen)(who(m.supervisor));
    this.el.dataset.mode = m.mode;
    this.el.hidden = false;
  }

  /** The monitoring ended, or the call did. */
  hide() {
    this.el.textContent = '';
    this.el.dataset.mode = '';
    this.el.hidden = true;
  }
}
