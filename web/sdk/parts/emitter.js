// The SDK's events (TUICalling's on/off): listeners per event name. A failing listener is logged
// and does not keep the others, or the SDK, from going on.

export class Emitter {
  constructor() {
    this._listeners = new Map();
  }

  on(event, cb) {
    if (typeof cb !== 'function') return;
    if (!this._listeners.has(event)) this._listeners.set(event, new Set());
    this._listeners.get(event).add(cb);
  }

  /** Without `cb`, removes every listener of `event`. */
  off(event, cb) {
    const set = this._listeners.get(event);
    if (!set) return;
    if (cb === undefined) set.clear();
    else set.delete(cb);
  }

  _emit(event, data) {
    const set = this._listeners.get(event);
    if (!set) return;
    for (const cb of [...set]) {
      try {
        cb(data);
      } catch (err) {
        console.error(`[callcenter] ${event} listener failed`, err);
      }
    }
  }
}
