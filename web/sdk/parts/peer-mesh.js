// The call's media: a mesh of RTCPeerConnections, one per remote participant. The participant who
// accepts sends an offer to everybody already in the call; joined participants only answer. ICE
// candidates trickle through `signal` (kind `candidate`). Each connection is created with one
// audio and one video transceiver, so turning the camera on or off and switching between audio
// and video calls never needs a renegotiation (`RTCRtpSender.replaceTrack`).
//
// The only renegotiation is an ICE restart (media-reconnect.js), and only the side that sent the
// connection's first offer (the one who accepted, or the page that took the call up after a
// reload) makes it: the other side answers it as any offer. With one offerer per connection two
// offers never cross (no glare to resolve).
import { candidatePayload, RemoteCandidates } from './ice.js';

export class PeerMesh {
  /**
   * @param {{rtcConfig: Function, tracks: Function, sendSignal: Function, onTrack: Function,
   *          onClose: Function}} hooks
   *   rtcConfig(): {iceServers, iceTransportPolicy} from the hello ack; tracks(userID): this
   *   side's {audio, video} tracks (or null) for the connection with userID; sendSignal(userID, kind, payload): relays through the server; onTrack(userID, stream): a
   *   remote track arrived or unmuted; onClose(userID): the connection with userID is gone;
   *   onIceState(userID, state): its ICE connection state changed.
   */
  constructor({ rtcConfig, tracks, sendSignal, onTrack, onClose, onIceState }) {
    Object.assign(this, { rtcConfig, tracks, sendSignal, onTrack, onClose, onIceState });
    this.peers = new Map(); // remote userID -> peer record
  }

  get size() { return this.peers.size; }

  /** The connection with `userID`, made on first use. */
  peer(userID) {
    let peer = this.peers.get(userID);
    if (peer) return peer;
    const pc = new RTCPeerConnection({ ...this.rtcConfig(), bundlePolicy: 'max-bundle' });
    peer = {
      userID, pc, chain: Promise.resolve(), localCandidates: [], descriptionSent: false, offerer: false,
      remoteCandidates: new RemoteCandidates(pc, userID),
      audioSender: null, videoSender: null, remoteStream: new MediaStream(),
    };
    this.peers.set(userID, peer);
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      const payload = c ? candidatePayload(c) : null;
      if (peer.descriptionSent) this.sendSignal(userID, 'candidate', payload);
      else peer.localCandidates.push(payload);
    };
    pc.ontrack = (ev) => {
      if (!peer.remoteStream.getTracks().includes(ev.track)) peer.remoteStream.addTrack(ev.track);
      ev.track.onunmute = () => this.onTrack(userID, peer.remoteStream);
      this.onTrack(userID, peer.remoteStream);
    };
    pc.oniceconnectionstatechange = () => {
      if (this.peers.get(userID) === peer) this.onIceState(userID, pc.iceConnectionState);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') {
        console.warn(`[callcenter] media connection with ${userID} failed`);
      }
    };
    return peer;
  }

  /**
   * Offers media to `userID` (who joined before us). Resolves once the offer is sent. With
   * `rejoin`, the offer comes from a new page of ours and says so: the other side replaces the
   * connection it had with our old page.
   */
  offerTo(userID, { rejoin = false } = {}) {
    const peer = this.peer(userID);
    peer.offerer = true;
    peer.chain = peer.chain.then(async () => {
      const { pc } = peer;
      const { audio, video } = this.tracks(userID);
      peer.audioSender = pc.addTransceiver(audio || 'audio', { direction: 'sendrecv' }).sender;
      peer.videoSender = pc.addTransceiver(video || 'video', { direction: 'sendrecv' }).sender;
      await pc.setLocalDescription(await pc.createOffer());
      const { type, sdp } = pc.localDescription;
      this.sendSignal(userID, 'offer', rejoin ? { type, sdp, rejoin: true } : { type, sdp });
      this.descriptionSent(peer);
    });
    return peer.chain;
  }

  /**
   * Restarts ICE with `userID` (new credentials, so new candidates and a new path): an offer on
   * the same connection, answered as any offer. Only the connection's offerer does; on the other
   * side it is a no-op. An attempt whose answer has not come yet is replaced by the next one.
   */
  restartIce(userID) {
    const peer = this.peers.get(userID);
    if (!peer || !peer.offerer) return Promise.resolve();
    const attempt = peer.chain.then(async () => {
      const { pc } = peer;
      if (pc.signalingState === 'closed' || this.peers.get(userID) !== peer) return;
      pc.restartIce();
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      const { type, sdp } = pc.localDescription;
      this.sendSignal(userID, 'offer', { type, sdp });
    });
    peer.chain = attempt.catch(() => {}); // the caller logs it; the signals after it go on
    return attempt;
  }

  /** A `signal` from `from`: handled after what came before from the same participant. */
  signal(from, kind, payload) {
    // The other side reloaded its page: its old connection is dead, a new one starts here.
    if (kind === 'offer' && payload && payload.rejoin === true) this.close(from);
    const peer = this.peer(from);
    peer.chain = peer.chain.then(() => this.handle(peer, kind, payload)).catch((err) => {
      console.warn(`[callcenter] signal ${kind} from ${from} failed`, err);
    });
  }

  async handle(peer, kind, payload) {
    const { pc } = peer;
    if (pc.signalingState === 'closed') return;
    if (kind === 'offer') {
      await pc.setRemoteDescription(payload);
      const tracks = this.tracks(peer.userID);
      for (const t of pc.getTransceivers()) {
        const k = t.receiver.track && t.receiver.track.kind;
        if (k === 'audio' && !peer.audioSender) {
          t.direction = 'sendrecv';
          peer.audioSender = t.sender;
          await t.sender.replaceTrack(tracks.audio);
        } else if (k === 'video' && !peer.videoSender) {
          t.direction = 'sendrecv';
          peer.videoSender = t.sender;
          await t.sender.replaceTrack(tracks.video);
        }
      }
      await pc.setLocalDescription(await pc.createAnswer());
      const { type, sdp } = pc.localDescription;
      this.sendSignal(peer.userID, 'answer', { type, sdp });
      this.descriptionSent(peer);
      await peer.remoteCandidates.flush();
    } else if (kind === 'answer') {
      await pc.setRemoteDescription(payload);
      await peer.remoteCandidates.flush();
    } else if (kind === 'candidate') {
      await peer.remoteCandidates.add(payload);
    }
  }

  /** Candidates gathered before the description went out follow it now. */
  descriptionSent(peer) {
    peer.descriptionSent = true;
    const queued = peer.localCandidates;
    peer.localCandidates = [];
    for (const payload of queued) this.sendSignal(peer.userID, 'candidate', payload);
  }

  close(userID) {
    const peer = this.peers.get(userID);
    if (!peer) return;
    this.peers.delete(userID);
    try { peer.pc.close(); } catch (err) { /* already closed */ }
    for (const t of peer.remoteStream.getTracks()) t.stop();
    this.onClose(userID);
  }

  closeAll() {
    for (const userID of [...this.peers.keys()]) this.close(userID);
  }

  /** Every peer's sender of `key` ('audioSender' | 'videoSender'). */
  senders(key) {
    return [...this.peers.values()].map((p) => p[key]).filter(Boolean);
  }
}
