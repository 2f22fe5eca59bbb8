// ICE candidates as they travel in `signal` and `record_signal` payloads (docs/protocol.md).

/** An RTCIceCandidate as a payload. */
export function candidatePayload(c) {
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
}

/**
 * The other side's candidates for `pc`: those that come before its description wait for it
 * (`flush()` once it is set). `from` names the other side in the log.
 */
export class RemoteCandidates {
  constructor(pc, from) {
    this.pc = pc;
    this.from = from;
    this.queued = [];
  }

  async add(payload) {
    if (!this.pc.remoteDescription) this.queued.push(payload);
    else await addRemoteCandidate(this.pc, payload, this.from);
  }

  async flush() {
    const queued = this.queued;
    this.queued = [];
    for (const payload of queued) await addRemoteCandidate(this.pc, payload, this.from);
  }
}

/**
 * Adds a remote candidate to `pc` (an empty one: the end of candidates). A bad candidate is
 * logged, not thrown: the others may still connect.
 */
async function addRemoteCandidate(pc, payload, from) {
  try {
    if (payload && payload.candidate) await pc.addIceCandidate(payload);
    else await pc.addIceCandidate();
  } catch (err) {
    console.warn(`[callcenter] bad ICE candidate from ${from}`, err);
  }
}
