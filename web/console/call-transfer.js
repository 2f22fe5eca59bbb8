// The console's hold, blind transfer and consult (docs/protocol.md, "Call control"): the Hold /
// Resume button with how long the customer has been holding, and the Transfer panel that lists the
// app's agents with their state (only available ones can take it) and its queues, with a note
// for whoever takes the call: Transfer hands it over at once, Consult rings the agent first (the
// customer on hold), and the consult bar then completes the transfer, makes it a conference or
// goes back to the customer. Keyboard: Alt+H holds or resumes, Alt+T opens the transfer panel,
// Escape closes it. Everything from the server goes in through textContent.

import { mmss, nowSeconds } from '../ui/time.js';

const STATE_WORDS = {
  available: 'available', ringing: 'ringing', in_call: 'in a call', wrap_up: 'wrapping up',
  break: 'on a break', offline: 'offline',
};

export class CallTransfer {
  /**
   * @param {{hold: Element, holdTime: Element, open: Element, panel: Element, target: Element,
   *   note: Element, go: Element, cancel: Element, consult: Element, bar: Element,
   *   barStatus: Element, complete: Element, conference: Element, back: Element}} el
   * @param {{client: Function, callId: Function, notice: Function, log: Function}} deps
   */
  constructor(el, { client, callId, notice, log }) {
    this.el = el;
    this.client = client;
    this.callId = callId;
    this.notice = notice;
    this.log = log;
    this.heldSince = null; // local clock (s) when the hold began
    el.hold.addEventListener('click', () => this.toggleHold());
    el.open.addEventListener('click', () => this.openPanel());
    el.cancel.addEventListener('click', () => this.closePanel());
    el.go.addEventListener('click', () => this.transfer());
    el.consult.addEventListener('click', () => this.consult());
    el.complete.addEventListener('click', () => this.endConsult((c) => c.consultComplete(), 'Transferred.'));
    el.conference.addEventListener('click', () => this.endConsult((c) => c.conference(), 'Conference: all three of you are in the call.'));
    el.back.addEventListener('click', () => this.endConsult((c) => c.consultCancel(), 'Back with the customer.'));
    this.consulting = null; // {userID, name} of the colleague consulted
    document.addEventListener('keydown', (ev) => this.onKey(ev));
    setInterval(() => this.tick(), 500);
  }

  onKey(ev) {
    if (!this.callId()) return;
    const key = ev.key.toLowerCase();
    if (ev.altKey && key === 'h') {
      ev.preventDefault();
      this.toggleHold();
    } else if (ev.altKey && key === 't') {
      ev.preventDefault();
      this.openPanel();
    } else if (key === 'escape' && !this.el.panel.hidden) {
      this.closePanel();
    }
  }

  /** The call began or ended, or was put on hold or resumed: the buttons follow. */
  render() {
    const inCall = !!this.callId();
    const held = this.heldSince !== null;
    this.el.hold.textContent = held ? 'Resume' : 'Hold';
    this.el.hold.setAttribute('aria-pressed', String(held));
    this.el.hold.disabled = !inCall;
    this.el.open.disabled = !inCall;
    this.el.holdTime.hidden = !held;
    if (!inCall) this.closePanel();
    if (!inCall) this.consulting = null;
    this.el.bar.hidden = !this.consulting;
    this.el.hold.hidden = !!this.consulting;
    this.el.open.hidden = !!this.consulting;
    this.tick();
  }

  tick() {
    if (this.heldSince === null) return;
    this.el.holdTime.textContent = `On hold ${mmss(nowSeconds() - this.heldSince)}`;
  }

  held(on) {
    this.heldSince = on ? (this.heldSince ?? nowSeconds()) : null;
    this.render();
  }

  async toggleHold() {
    const c = this.client();
    if (!c || !this.callId() || this.el.hold.disabled) return;
    this.el.hold.disabled = true;
    try {
      if (c.holdState) {
        const { held } = await c.unhold();
        this.log('unhold', { callId: this.callId(), held });
      } else {
        await c.hold();
        this.log('hold', { callId: this.callId() });
      }
    } catch (err) {
      this.notice('error', `Hold: ${err.code || ''} ${err.message || err}`);
    } finally {
      this.render();
    }
  }

  async openPanel() {
    const c = this.client();
    if (!c || !this.callId()) return;
    const select = this.el.target;
    select.replaceChildren();
    this.el.panel.hidden = false;
    let targets;
    try {
      targets = await c.getTransferTargets();
    } catch (err) {
      this.notice('error', `Transfer: ${err.code || ''} ${err.message || err}`);
      this.closePanel();
      return;
    }
    const group = (label) => {
      const g = document.createElement('optgroup');
      g.label = label;
      select.append(g);
      return g;
    };
    const agents = group('Agents');
    for (const a of targets.agents) {
      const option = document.createElement('option');
      option.value = `agent:${a.userID}`;
      option.textContent = `${a.name || a.userID} — ${STATE_WORDS[a.state] || a.state}`;
      option.disabled = a.state !== 'available';
      option.dataset.state = a.state;
      agents.append(option);
    }
    const queues = group('Queues');
    for (const q of targets.queues) {
      const option = document.createElement('option');
      option.value = `queue:${q.name}`;
      option.textContent = `${q.name} — ${q.waiting} waiting, ${q.agentsAvailable} available`;
      queues.append(option);
    }
    const first = [...select.options].find((o) => !o.disabled);
    if (first) first.selected = true;
    select.focus();
  }

  closePanel() {
    this.el.panel.hidden = true;
    this.el.note.value = '';
  }

  /** The colleague consulted answered (they entered the call). */
  colleagueJoined(userID) {
    if (!this.consulting || this.consulting.userID !== userID) return;
    this.el.barStatus.textContent = `Talking with ${this.consulting.name}; the customer is on hold`;
  }

  /** The consult ended by itself: the colleague did not answer, refused or left. */
  consultFailed() {
    if (!this.consulting) return;
    this.notice('info', `${this.consulting.name} is not taking it; the customer is still on hold.`);
    this.consulting = null;
    this.render();
  }

  async consult() {
    const c = this.client();
    const choice = this.el.target.value;
    if (!c || !choice.startsWith('agent:')) {
      this.notice('error', 'Consult: choose an agent.');
      return;
    }
    const id = choice.slice('agent:'.length);
    const option = this.el.target.selectedOptions[0];
    const name = option ? option.textContent.split(' — ')[0] : id;
    this.el.consult.disabled = true;
    try {
      await c.consult({ toAgent: id, note: this.el.note.value.trim().slice(0, 500) });
      this.log('consult', { callId: this.callId(), to: id });
      this.consulting = { userID: id, name };
      this.el.barStatus.textContent = `Consulting ${name}…`;
      this.closePanel();
    } catch (err) {
      this.notice('error', `Consult: ${err.code || ''} ${err.message || err}`);
    } finally {
      this.el.consult.disabled = false;
      this.render();
    }
  }

  async endConsult(action, done) {
    const c = this.client();
    if (!c || !this.consulting) return;
    try {
      const ack = await action(c);
      this.log('consult_end', ack);
      this.notice('info', done);
      this.consulting = null;
    } catch (err) {
      this.notice('error', `${err.code || ''} ${err.message || err}`);
    } finally {
      this.render();
    }
  }

  async transfer() {
    const c = this.client();
    const choice = this.el.target.value;
    if (!c || !choice) return;
    const [kind, id] = [choice.slice(0, choice.indexOf(':')), choice.slice(choice.indexOf(':') + 1)];
    const note = this.el.note.value.trim().slice(0, 500);
    this.el.go.disabled = true;
    try {
      const ack = await c.transfer(kind === 'agent' ? { toAgent: id, note } : { toQueue: id, note });
      this.log('transferred', ack);
      this.notice('info', kind === 'agent' ? `Transferred to ${id}.` : `Transferred to the ${id} queue.`);
      this.closePanel();
    } catch (err) {
      this.notice('error', `Transfer: ${err.code || ''} ${err.message || err}`);
    } finally {
      this.el.go.disabled = false;
    }
  }
}
