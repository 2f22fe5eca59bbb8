// Recording (docs/protocol.md, "Recording"; docs/recording.md): when the server sends
// `record_start` for the current call, the SDK opens a second, send-only RTCPeerConnection to the
// media worker carrying the same microphone track (and the camera when the job asks for video),
// offers it with `record_signal` and applies the worker's answer. A failing recorder never
// affects the call itself.
import { candidatePayload, RemoteCandidates } from './ice.js';

// The offer to the recorder waits this long at most for ICE gathering (the rest trickles).
const GATHER_MS = 1500;

export class RecorderLeg {
  /**
   * @param {{callId: string, jobId: string, video: boolean}} job from `record_start`
   * @param {{tracks: {audio, video}, rtcConfig: {iceServers, iceTransportPolicy}, request: Function,
   *          onFailed: Function, onIceState: Function}} deps
   *   request(event, payload): a request to the server; onFailed(leg): the leg broke (the caller
   *   opens a new one, or closes it and says so); onIceState(leg, state): its ICE connection
   *   state changed.
   */
  constructor({ callId, jobId, video }, { tracks, rtcConfig, request, onFailed, onIceState }) {
    this.callId = callId;
    this.jobId = jobId;
    this.video = !!video;
    this.request = request;
    this.closed = false;
    this.offerSent = false;
    this.trickle = false;
    this.chain = Promise.resolve();
    this.sending = Promise.resolve();
    const pc = new RTCPeerConnection({ ...rtcConfig, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    this.remoteCandidates = new RemoteCandidates(pc, 'the recorder');
    this.audioSender = pc.addTransceiver(tracks.audio || 'audio', { direction: 'sendonly' }).sender;
    this.videoSender = this.video
      ? pc.addTransceiver(tracks.video || 'video', { direction: 'sendonly' }).sender : null;
    pc.onicecandidate = (ev) => {
      // Candidates gathered before the offer went out are in its SDP. Later ones trickle, one
      // request after the other so they reach the worker in order; no end-of-candidates (null):
      // the worker would refuse a candidate overtaking it.
      const c = ev.candidate;
      if (!c || !c.candidate || !this.offerSent || !this.trickle || this.closed) return;
      const payload = candidatePayload(c);
      this.sending = this.sending
        .then(() => this.request('record_signal', { callId, kind: 'candidate', payload }))
        .catch((err) => console.warn('[callcenter] record_signal candidate failed', err));
    };
    pc.oniceconnectionstatechange = () => {
      if (!this.closed) onIceState(this, pc.iceConnectionState);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' && !this.closed) {
        console.warn(`[callcenter] the connection to the recorder of ${callId} failed`);
        onFailed(this);
      }
    };
    this.chain = this.chain.then(() => this.offer()).catch((err) => {
      console.warn(`[callcenter] recording of ${callId}: offer failed`, err);
      if (!this.closed) onFailed(this);
    });
  }

  async offer() {
    const { pc } = this;
    await pc.setLocalDescription(await pc.createOffer());
    // The worker (aiortc) answers with all its candidates at once; send ours the same way when
    // gathering is quick (it is, without unreachable STUN servers), and trickle the rest.
    await waitGathering(pc, GATHER_MS);
    if (this.closed) return;
    const { type, sdp } = pc.localDescription;
    this.offerSent = true;
    this.trickle = pc.iceGatheringState !== 'complete';
    const send = this.request('record_signal', { callId: this.callId, kind: 'offer', payload: { type, sdp } });
    this.sending = send.catch(() => {});
    await send;
  }

  /** A `record_signal` from the worker: its answer, or a candidate. */
  signal(kind, payload) {
    this.chain = this.chain.then(async () => {
      const { pc } = this;
      if (this.closed || pc.signalingState === 'closed') return;
      if (kind === 'answer') {
        // Not waiting for an answer (its offer not sent yet, or answered already): it answers
        // the offer of a leg this one replaced, and the worker drops that connection.
        if (!this.offerSent || pc.signalingState !== 'have-local-offer') return;
        await pc.setRemoteDescription(payload);
        await this.remoteCandidates.flush();
      } else if (kind === 'candidate') {
        await this.remoteCandidates.add(payload);
      }
    }).catch((err) => console.warn(`[callcenter] record_signal ${kind} failed`, err));
  }

  close() {
    this.closed = true;
    try { this.pc.close(); } catch (err) { /* already closed */ }
  }

  /** {audioBytesSent, videoBytesSent, connectionState} of the leg. */
  async stats() {
    const s = { audioBytesSent: 0, videoBytesSent: 0, connectionState: this.pc.connectionState };
    const report = await this.pc.getStats();
    report.forEach((r) => {
      const kind = r.kind || r.mediaType;
      if (r.type === 'outbound-rtp' && (kind === 'audio' || kind === 'video')) {
        s[`${kind}BytesSent`] += r.bytesSent || 0;
      }
    });
    return s;
  }
}

function waitGathering(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    let timer = null;
    const check = () => {
      if (pc.iceGatheringState !== 'complete' && timer !== null) return;
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    timer = setTimeout(() => { timer = null; check(); }, ms);
    pc.addEventListener('icegatheringstatechange', check);
  });
}
