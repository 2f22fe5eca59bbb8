// The Recording column of the agent's "calls today": for each call, whether it has a recording,
// and a player once it has. A recording is indexed a second or two after its call ends, so a
// call known to be recorded shows "processing…" and is looked at again until it is there.
import { at } from '../ui/base.js';
import { fetchJSON } from '../ui/json-api.js';
import { nowSeconds } from '../ui/time.js';
import { playThroughLinks } from './links.js';

// Poll this often, this long, for a recording on its way.
const POLL_MS = 1000;
const WAIT_S = 60;
// A call that ended this recently may still have a recording on its way even when this console
// did not see it start (e.g. the page was reloaded during the call).
const GRACE_S = 15;

function recordingPath(callId) {
  return `/api/recordings/${encodeURIComponent(callId)}`;
}

export class RecordingCells {
  /**
   * @param {Element} body the table's tbody: tr[data-call-id] rows with a td.c-recording
   * @param {{userSig: Function, log: Function, shown: object}} options
   *   userSig(): the agent's credential (null once signed out); log(name, data): the console's
   *   event log; shown: {callId: state} of the cells, kept up to date (window.agentConsole.recordings).
   */
  constructor(body, { userSig, log, shown }) {
    this.body = body;
    this.userSig = userSig;
    this.log = log;
    this.shown = shown;
    // callId -> {state: 'probing' | 'processing' | 'ready' | 'none' | 'unavailable', audio, timer}
    this.entries = new Map();
    this.recorded = new Set(); // calls this console saw being recorded (RECORDING started)
  }

  /**
   * Decides what to find out about a call's recording, and shows it: known recorded (this console
   * saw it start, or the server says `recorded`) -> poll until it is indexed; unknown -> ask
   * once, or poll for a little while when the call has just ended.
   */
  track(call) {
    const { callId } = call;
    if (!this.entries.has(callId) && this.userSig()) {
      const known = this.recorded.has(callId) || call.recorded === true;
      if (call.recorded === false && !known) {
        this.entries.set(callId, { state: 'none' });
      } else {
        const now = nowSeconds();
        const ended = typeof call.endedAt === 'number' ? Math.min(call.endedAt, now) : now;
        const deadline = known ? now + WAIT_S : ended + GRACE_S;
        const entry = { state: known ? 'processing' : 'probing', audio: null, timer: null, deadline, known };
        this.entries.set(callId, entry);
        this.poll(callId, entry);
      }
    }
    this.render(callId);
  }

  /** The SDK began recording `callId`: what was concluded without knowing that is asked again. */
  started(callId) {
    this.recorded.add(callId);
    const entry = this.entries.get(callId);
    if (entry && (entry.state === 'none' || entry.state === 'probing')) {
      clearTimeout(entry.timer);
      this.entries.delete(callId);
    }
  }

  async poll(callId, entry) {
    entry.timer = null;
    const userSig = this.userSig();
    if (this.entries.get(callId) !== entry || !userSig) return;
    let status;
    try {
      await fetchJSON(at(recordingPath(callId)), { userSig });
      status = 200;
    } catch (err) {
      status = err.status; // 0: no answer, try again
    }
    if (this.entries.get(callId) !== entry) return;
    if (status === 200) {
      entry.state = 'ready';
    } else if (status === 404 || status === 0) {
      if (nowSeconds() < entry.deadline) {
        // Not indexed yet (or, for a call not known to be recorded and just ended, maybe on its way).
        entry.timer = setTimeout(() => this.poll(callId, entry), POLL_MS);
      } else {
        entry.state = entry.known ? 'unavailable' : 'none';
      }
    } else {
      entry.state = 'unavailable'; // 401/403: not allowed with this credential
    }
    this.render(callId);
  }

  audio(callId, entry) {
    if (!entry.audio) {
      const audio = document.createElement('audio');
      audio.controls = true;
      audio.preload = 'metadata';
      audio.setAttribute('aria-label', 'Play the recording of this call');
      entry.audio = audio;
      // An <audio src> cannot send the credential: a signed link for this one file instead.
      playThroughLinks(audio, `${recordingPath(callId)}/audio`, this.userSig).catch((err) => {
        this.log('recording_link_error', { callId, code: err.code || null });
      });
    }
    return entry.audio;
  }

  render(callId) {
    const td = this.body.querySelector(`tr[data-call-id="${CSS.escape(callId)}"] .c-recording`);
    const entry = this.entries.get(callId);
    const state = entry ? entry.state : '';
    if (this.shown[callId] !== state) this.log('recording_cell', { callId, state });
    this.shown[callId] = state;
    if (!td) return;
    // 'probing' shows as "processing…" only for a call known to be recorded; otherwise as nothing.
    const shown = state === 'probing' ? '' : state;
    if (td.dataset.recording === shown && shown !== 'ready') return;
    td.dataset.recording = shown;
    if (shown === 'ready') {
      // The same element each time, so a refresh of the list does not stop a playing recording.
      const audio = this.audio(callId, entry);
      if (audio.parentNode !== td) td.replaceChildren(audio);
    } else if (shown === 'processing') {
      td.textContent = 'processing…';
    } else if (shown === 'unavailable') {
      td.textContent = 'not available';
    } else {
      td.textContent = '';
    }
  }

  /** Signed out: stops every poll and player and forgets what was known. */
  forget() {
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer);
      if (entry.audio) { entry.audio.pause(); entry.audio.removeAttribute('src'); entry.audio.load(); }
    }
    this.entries.clear();
    this.recorded.clear();
    for (const callId of Object.keys(this.shown)) delete this.shown[callId];
  }
}
