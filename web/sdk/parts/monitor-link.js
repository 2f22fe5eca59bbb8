// Supervisor monitoring's media (docs/protocol.md, "Supervisor monitoring"): one
// RTCPeerConnection between the supervisor's page and the agent's, never the customer's. The
// agent's side offers it with two audio transceivers: its microphone (sendrecv: the supervisor's
// voice comes back on it) and the customer's voice as the agent receives it (sendonly). Modes
// switch without renegotiation:
//   listen   the supervisor's sender has no track; the agent does not play it;
//   whisper  the supervisor sends their microphone; the agent plays it;
//   barge    as whisper, and the agent sends the customer a WebAudio mix of its microphone and
//            the supervisor (replaceTrack on the customer's sender; back to the plain microphone
//            when barge ends).
// Signals go through `signal` (the server relays them between the monitoring supervisor and the
// agent only). The connection is not part of the call's mesh: hold and device switches leave
// it alone, and it closes with the monitoring.
import { candidatePayload, RemoteCandidates } from './ice.js';

class MonitorLink {
  constructor({ callId, peer, rtcConfig, sendSignal }) {
    this.callId = callId;
    // The other side's user id; the supervisor's side learns it from the ack or the offer.
    this.peer = peer;
    this.sendSignal = (kind, payload) => sendSignal(this.peer, kind, payload);
    this.pc = new RTCPeerConnection({ ...rtcConfig, bundlePolicy: 'max-bundle' });
    this.remote = new RemoteCandidates(this.pc, peer);
    this.descriptionSent = false;
    this.localCandidates = [];
    this.chain = Promise.resolve();
    this.players = [];
    this.closed = false;
    this.mode = 'listen';
    this.pc.onicecandidate = (ev) => {
      const payload = ev.candidate ? candidatePayload(ev.candidate) : null;
      if (this.descriptionSent) this.sendSignal('candidate', payload);
      else this.localCandidates.push(payload);
    };
  }

  /** A `signal` from the other side, handled after what came before it. */
  signal(kind, payload) {
    this.chain = this.chain.then(() => this.handle(kind, payload)).catch((err) => {
      console.warn(`[callcenter] monitoring signal ${kind} from ${this.peer} failed`, err);
    });
  }

  async handle(kind, payload) {
    if (this.closed) return;
    if (kind === 'answer') {
      await this.pc.setRemoteDescription(payload);
      await this.remote.flush();
    } else if (kind === 'candidate') {
      await this.remote.add(payload);
    }
  }

  sent() {
    this.descriptionSent = true;
    for (const payload of this.localCandidates.splice(0)) this.sendSignal('candidate', payload);
  }

  /** Plays `track` in an element of its own (muted until `audible`). */
  play(track, audible) {
    const player = new Audio();
    player.autoplay = true;
    player.srcObject = new MediaStream([track]);
    player.muted = !audible;
    player.dataset.callcenterMonitor = '';
    player.play().catch((err) => console.warn('[callcenter] monitoring audio did not play', err));
    this.players.push(player);
    return player;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    try { this.pc.close(); } catch (err) { /* already closed */ }
    for (const player of this.players) {
      player.pause();
      player.srcObject = null;
    }
    this.players = [];
  }
}

/** The agent's side: sends both sides of the call, plays (and in barge mixes) the supervisor. */
export class AgentMonitorLink extends MonitorLink {
  /**
   * @param {{callId, supervisor, rtcConfig, sendSignal: Function, mic: () => MediaStreamTrack,
   *   customerTrack: () => MediaStreamTrack|null, customerSender: () => RTCRtpSender|null,
   *   plainTrack: () => MediaStreamTrack|null, held: () => boolean}} deps
   *   mic: the agent's microphone; customerTrack: the customer's voice as received;
   *   customerSender: the sender of the agent's audio to the customer; plainTrack: what that
   *   sender carries when not barging (the microphone, or its silent clone on hold); held:
   *   whether the call is on hold.
   */
  constructor({ callId, supervisor, rtcConfig, sendSignal, mic, customerTrack, customerSender, plainTrack, held }) {
    super({ callId, peer: supervisor, rtcConfig, sendSignal });
    Object.assign(this, { mic, customerTrack, customerSender, plainTrack, held });
    this.voice = null; // the supervisor's track
    this.player = null;
    this.mix = null; // {ctx, track} while barging
  }

  /** Offers the supervisor the media; `rejoin`: from a reloaded page (it replaces the old one's). */
  async start(mode, { rejoin = false } = {}) {
    this.mode = mode;
    this.micTransceiver = this.pc.addTransceiver(this.mic() || 'audio', { direction: 'sendrecv' });
    this.customerTransceiver = this.pc.addTransceiver(this.customerTrack() || 'audio', { direction: 'sendonly' });
    this.voice = this.micTransceiver.receiver.track;
    this.player = this.play(this.voice, mode !== 'listen');
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const { type, sdp } = this.pc.localDescription;
    this.sendSignal('offer', rejoin ? { type, sdp, rejoin: true } : { type, sdp });
    this.sent();
    await this.setMode(mode);
  }

  /** The call's tracks changed (the customer's voice arrived, a hold ended): follow them. */
  async follow() {
    if (this.closed || !this.micTransceiver) return;
    const customer = this.customerTrack();
    if (customer && this.customerTransceiver.sender.track !== customer) {
      await this.customerTransceiver.sender.replaceTrack(customer).catch(() => {});
    }
    const mic = this.mic();
    if (mic && this.micTransceiver.sender.track !== mic) {
      await this.micTransceiver.sender.replaceTrack(mic).catch(() => {});
    }
    await this.setMode(this.mode);
  }

  async setMode(mode) {
    this.mode = mode;
    if (this.closed) return;
    if (this.player) this.player.muted = mode === 'listen';
    if (mode === 'barge') await this.barge();
    else await this.unbarge();
  }

  async barge() {
    const sender = this.customerSender();
    if (!sender) return;
    if (!this.mix) {
      const ctx = new AudioContext();
      const out = ctx.createMediaStreamDestination();
      const mic = this.mic();
      if (mic) ctx.createMediaStreamSource(new MediaStream([mic])).connect(out);
      ctx.createMediaStreamSource(new MediaStream([this.voice])).connect(out);
      ctx.resume().catch(() => {});
      this.mix = { ctx, track: out.stream.getAudioTracks()[0] };
    }
    // On hold the customer hears the music and nothing of ours: the hold's clone stays.
    const track = this.held() ? this.plainTrack() : this.mix.track;
    if (sender.track !== track) await sender.replaceTrack(track).catch(() => {});
  }

  async unbarge() {
    if (!this.mix) return;
    const { ctx, track } = this.mix;
    this.mix = null;
    const sender = this.customerSender();
    if (sender && sender.track === track) await sender.replaceTrack(this.plainTrack()).catch(() => {});
    track.stop();
    ctx.close().catch(() => {});
  }

  close() {
    if (this.closed) return;
    this.unbarge();
    super.close();
  }
}

/** The supervisor's side: answers the agent's offer, hears both, sends its voice when asked. */
export class SupervisorMonitorLink extends MonitorLink {
  /** @param {{callId, agent, rtcConfig, sendSignal: Function}} deps */
  constructor({ callId, agent, rtcConfig, sendSignal }) {
    super({ callId, peer: agent, rtcConfig, sendSignal });
    this.agent = agent;
    this.micStream = null;
    this.sender = null;
    this.pc.ontrack = (ev) => this.play(ev.track, true);
  }

  async handle(kind, payload) {
    if (kind !== 'offer' || this.closed) return super.handle(kind, payload);
    await this.pc.setRemoteDescription(payload);
    // The first transceiver carries the agent's microphone: ours goes back on it.
    const [first] = this.pc.getTransceivers();
    first.direction = 'sendrecv';
    this.sender = first.sender;
    await this.sender.replaceTrack(await this.trackFor(this.mode));
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    const { type, sdp } = this.pc.localDescription;
    this.sendSignal('answer', { type, sdp });
    this.sent();
    this.answered = true;
    await this.remote.flush();
    return undefined;
  }

  /** What we send in `mode`: nothing in listen (no track at all), our microphone otherwise. */
  async trackFor(mode) {
    if (mode === 'listen') return null;
    if (!this.micStream) {
      this.micStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    }
    return this.micStream.getAudioTracks()[0] || null;
  }

  setMode(mode) {
    this.mode = mode;
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      const track = await this.trackFor(mode);
      if (this.sender) await this.sender.replaceTrack(track);
    }).catch((err) => console.warn('[callcenter] monitoring: the microphone did not follow', err));
    return this.chain;
  }

  close() {
    if (this.closed) return;
    super.close();
    if (this.micStream) for (const t of this.micStream.getTracks()) t.stop();
    this.micStream = null;
  }
}
