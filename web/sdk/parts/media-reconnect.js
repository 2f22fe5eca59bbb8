// Getting a connection's media back after its network path broke (a Wi-Fi to cellular switch, a
// relay that restarted) while signaling stayed up (MEDIA_RECONNECTING / MEDIA_RECONNECTED /
// MEDIA_RECONNECT_FAILED; docs/protocol.md, "ICE restart"). One instance watches the ICE state of
// a set of connections, each under a key (a remote user id, or the recorder leg), and calls
// `restart(key)` when one is `failed`, or `disconnected` for longer than `disconnectedMs`: a
// short `disconnected` often heals by itself (a few lost consent checks), and restarting it would
// only cost a round of signaling. Attempts repeat with backoff, since the first ones may come
// while the path is still down (a relay not yet back gives no candidates), until `giveUpMs` have
// passed; a connection that comes back later is still reported as reconnected.

export const DISCONNECTED_MS = 2000;
export const GIVE_UP_MS = 30000;
// The delay before the next attempt, after the first one made at once: 1, 2, 4, 8, 8, ... s.
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 8000;

export class MediaReconnect {
  /**
   * @param {{restart: Function, onChange: Function, disconnectedMs?: number, giveUpMs?: number}} hooks
   *   restart(key): one attempt (a failing one is logged and retried); onChange(key, state):
   *   'reconnecting', 'reconnected' or 'failed' (gave up).
   */
  constructor({ restart, onChange, disconnectedMs = DISCONNECTED_MS, giveUpMs = GIVE_UP_MS }) {
    Object.assign(this, { restart, onChange, disconnectedMs, giveUpMs });
    this.watched = new Map(); // key -> {grace, retry, giveUp, attempts, reconnecting}
  }

  /** The ICE connection state of `key`'s connection changed to `state`. */
  iceState(key, state) {
    let w = this.watched.get(key);
    if (!w) {
      w = { grace: null, retry: null, giveUp: null, attempts: 0, reconnecting: false, gaveUp: false };
      this.watched.set(key, w);
    }
    if (state === 'connected' || state === 'completed') {
      clearTimeout(w.grace);
      w.grace = null;
      if (w.reconnecting || w.gaveUp) this.end(key, w);
    } else if (state === 'failed') {
      clearTimeout(w.grace);
      w.grace = null;
      this.begin(key, w);
    } else if (state === 'disconnected' && !w.reconnecting && !w.grace) {
      w.grace = setTimeout(() => { w.grace = null; this.begin(key, w); }, this.disconnectedMs);
    } else if (state === 'closed') {
      this.forget(key);
    }
    // 'new' and 'checking': an attempt under way; its outcome comes as one of the above.
  }

  begin(key, w) {
    if (w.reconnecting || this.watched.get(key) !== w) return;
    w.reconnecting = true;
    w.gaveUp = false;
    w.attempts = 0;
    this.onChange(key, 'reconnecting');
    w.giveUp = setTimeout(() => {
      clearTimeout(w.retry);
      w.reconnecting = false;
      w.gaveUp = true;
      this.onChange(key, 'failed');
    }, this.giveUpMs);
    this.attempt(key, w);
  }

  attempt(key, w) {
    if (!w.reconnecting || this.watched.get(key) !== w) return;
    const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** w.attempts);
    w.attempts += 1;
    w.retry = setTimeout(() => this.attempt(key, w), delay);
    Promise.resolve().then(() => this.restart(key)).catch((err) => {
      console.warn(`[callcenter] media reconnection with ${key}: attempt ${w.attempts} failed`, err);
    });
  }

  end(key, w) {
    clearTimeout(w.retry);
    clearTimeout(w.giveUp);
    w.reconnecting = false;
    w.gaveUp = false;
    this.onChange(key, 'reconnected');
  }

  /** `key`'s connection is gone for good (the peer left, the leg closed). */
  forget(key) {
    const w = this.watched.get(key);
    if (!w) return;
    this.watched.delete(key);
    clearTimeout(w.grace);
    clearTimeout(w.retry);
    clearTimeout(w.giveUp);
  }

  clear() {
    for (const key of [...this.watched.keys()]) this.forget(key);
  }
}
