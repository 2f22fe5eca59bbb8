// The call's `signal` requests (SDP, ICE candidates) until the server has acked them. A request
// written just as the transport closes may never have reached the server, and socket.io does not
// send it again; the server cannot replay what it never got when the session resumes. So each
// signal is kept until its ack comes, and those still unacked when the connection dropped are sent
// again, in order, once the session has resumed (docs/protocol.md, `signal`). Meanwhile new
// signals wait behind them, rather than overtake them on the new connection.
//
// One that did reach the server (only its ack was lost) arrives twice: each carries an `id` of
// this page's own ("<page>-<n>"), which the server relays and the receiving SDK uses to drop the
// copy (callcenter.js, `_on_signal`).

// Rejections that mean "perhaps never arrived": send it again after the resume. request() reports
// an ack lost with the connection as TIMEOUT (socket.io rejects pending acks on a disconnect).
const LOST = new Set(['TIMEOUT', 'NOT_LOGGED_IN']);

export class SignalOutbox {
  /** @param {Function} send (message) → Promise of its ack; rejects with a coded error */
  constructor(send) {
    this.send = send;
    this.page = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    this.count = 0;
    this.entries = []; // {message, inFlight, done}, oldest first
    this.paused = false;
  }

  /** Sends `message` ({callId, to, kind, payload}) with an id; resolves once the server acked it. */
  add(message) {
    this.count += 1;
    const entry = { message: { ...message, id: `${this.page}-${this.count}` }, inFlight: false };
    const acked = new Promise((resolve) => { entry.done = resolve; });
    this.entries.push(entry);
    if (!this.paused) this.transmit(entry);
    return acked;
  }

  transmit(entry) {
    entry.inFlight = true;
    this.send(entry.message).then(() => this.settle(entry), (err) => {
      entry.inFlight = false;
      if (!this.entries.includes(entry)) return; // cleared meanwhile
      if (err && LOST.has(err.code)) return; // kept for the resume
      const { kind, to } = entry.message;
      console.warn(`[callcenter] signal ${kind} to ${to} failed`, err);
      this.settle(entry);
    });
  }

  settle(entry) {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    entry.done();
  }

  /** The connection dropped: hold new signals until `resume()`. */
  pause() {
    this.paused = true;
  }

  /** The session resumed: what was not acked goes again, in order, then new signals directly. */
  resume() {
    this.paused = false;
    for (const entry of [...this.entries]) {
      if (!entry.inFlight) this.transmit(entry);
    }
  }

  /** The call is over, or the session was not resumed: nothing is left to deliver. */
  clear() {
    const entries = this.entries;
    this.entries = [];
    this.paused = false;
    for (const entry of entries) entry.done();
  }
}
