// Whether media still arrives from each peer of the call (MEDIA_STALLED / MEDIA_FLOWING, and the
// `media_flow` request; docs/protocol.md). Media goes browser to browser, so the server cannot
// see a frozen browser: the receiving side can. About once a second the inbound RTP bytes of each
// peer (audio and video together) are read from getStats(); when they have not risen for
// STALL_AFTER_MS the peer is stalled, when they rise again it flows.
//
// What is not a stall: a muted microphone (the track is disabled, and a disabled track still
// sends RTP: silence frames), a closed camera (replaceTrack(null) stops the video, the audio goes
// on), and a connection still being set up (nothing is watched before its first bytes arrive).
import { byteCounters } from './media-stats.js';

export const WATCH_INTERVAL_MS = 1000;
export const STALL_AFTER_MS = 3000;
// Samples come a little late at times (timer jitter, a slow getStats()): three samples without a
// rise are a stall even if they span 2.9 s, rather than waiting a fourth second for it.
const SAMPLE_SLACK_MS = 250;
// A page that took a call up again (a reload) makes new connections to peers whose media was
// flowing: nothing from one of them this long after the offer is a stall too (a frozen peer
// never answers), where a new call's setup is given all the time it takes.
const REJOIN_SETUP_MS = 2000;
// Reports the server refuses for good (the call or the peer is gone): not worth repeating.
const FINAL_CODES = new Set(['CALL_NOT_FOUND', 'NOT_IN_CALL', 'PEER_NOT_IN_CALL', 'BAD_REQUEST']);

export class MediaWatch {
  /**
   * @param {{peers: Function, onChange: Function, report: Function}} hooks
   *   peers(): the mesh's Map userID -> peer ({pc}); onChange(callId, userID, flowing): the
   *   state of a peer changed here; report(callId, userID, flowing, silentFor): tells the
   *   server, resolving once acked (a failed report is sent again at the next sample, so one
   *   lost while our own connection is down still arrives).
   */
  constructor({ peers, onChange, report }) {
    Object.assign(this, { peers, onChange, report });
    this.callId = null;
    this.timer = null;
    this.sampling = false;
    this.watched = new Map(); // userID -> {bytes, risenAt, flowing, reported, sending}
  }

  /** Watches the peers of `callId` (again a no-op while it already does). */
  start(callId) {
    if (this.callId === callId && this.timer) return;
    this.stop();
    this.callId = callId;
    this.timer = setInterval(() => { this.sample().catch(() => {}); }, WATCH_INTERVAL_MS);
  }

  /**
   * `userID`'s media was flowing before this page (it took the call up after a reload): watch
   * the new connection from now, so that one that never carries anything is a stall as well.
   */
  expect(userID) {
    if (!this.callId || this.watched.has(userID)) return;
    this.watched.set(userID, {
      bytes: 0, risenAt: performance.now() + REJOIN_SETUP_MS, flowing: true, reported: true,
      sending: false, expected: true,
    });
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.callId = null;
    this.watched.clear();
  }

  async sample() {
    if (this.sampling || !this.callId) return;
    const { callId } = this;
    this.sampling = true;
    try {
      const counters = await byteCounters(this.peers());
      if (callId !== this.callId) return; // the call ended meanwhile
      const now = performance.now();
      for (const [userID, c] of Object.entries(counters)) {
        this.update(userID, c.audioBytesReceived + c.videoBytesReceived, now);
      }
      for (const userID of [...this.watched.keys()]) {
        if (!(userID in counters)) this.watched.delete(userID); // they left: the server knows
      }
    } finally {
      this.sampling = false;
    }
  }

  update(userID, bytes, now) {
    let w = this.watched.get(userID);
    if (!w) {
      if (bytes === 0) return; // not connected yet: setting up is not a stall
      // `reported` null: the first bytes are reported as flowing (the server ignores it when it
      // knew), so a page that took the call over from another (a reload) ends a stall the old
      // page had reported and could not take back.
      w = { bytes, risenAt: now, flowing: true, reported: null, sending: false };
      this.watched.set(userID, w);
    } else if (bytes !== w.bytes) {
      // Fewer bytes than before is a new connection with this peer (renegotiated): it flows.
      if (w.expected) {
        // As for any first bytes: reported as flowing, ending a stall the old page reported.
        w.expected = false;
        w.reported = null;
      }
      w.bytes = bytes;
      w.risenAt = now;
      if (!w.flowing) {
        w.flowing = true;
        this.onChange(this.callId, userID, true);
      }
    } else if (w.flowing && now - w.risenAt >= STALL_AFTER_MS - SAMPLE_SLACK_MS) {
      w.flowing = false;
      this.onChange(this.callId, userID, false);
    }
    this.send(userID, w, now);
  }

  /** Tells the server what it has not been told yet; one report at a time per peer. */
  send(userID, w, now) {
    if (w.flowing === w.reported || w.sending) return;
    const { flowing } = w;
    const silentFor = flowing ? undefined : Math.min(60, (now - w.risenAt) / 1000);
    w.sending = true;
    this.report(this.callId, userID, flowing, silentFor).then(() => {
      w.reported = flowing;
    }, (err) => {
      if (err && FINAL_CODES.has(err.code)) w.reported = flowing;
    }).finally(() => {
      w.sending = false;
    });
  }
}
