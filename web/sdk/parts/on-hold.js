// A call on hold (docs/protocol.md, "Call control"). While it lasts, this side sends silence and
// black frames to the other side: its senders carry disabled clones of its tracks. Bytes still
// flow, so the media watch sees no stall, ICE stays up and nothing is renegotiated; the recorder's
// leg keeps the real tracks. The held side also plays the hold music, in a loop. The side that
// holds mutes only the connections of those it put on hold (`only`): during a consult it talks
// with the colleague on another connection of the same call.

export class OnHold {
  /**
   * @param {{peers: () => Map, tracks: () => {audio, video}, base: string}} deps  peers: the
   *   call's connections (userID -> {audioSender, videoSender}); tracks: this side's real
   *   tracks; base: the server's URL, for music given as a path.
   */
  constructor({ peers, tracks, base }) {
    this.peers = peers;
    this.tracks = tracks;
    this.base = base;
    this.state = null; // {callId, by, since, music, transfer, only: Set of userIDs | null (all)}
    this.clones = { audio: null, video: null };
    this.player = null;
  }

  get held() { return !!this.state; }

  /** Whether what we send `userID` is silenced now. */
  mutes(userID) {
    return !!this.state && (!this.state.only || this.state.only.has(userID));
  }

  /** What new peer connections send while on hold: the disabled clones. */
  muted() {
    const { audio, video } = this.tracks();
    return { audio: this._clone('audio', audio), video: this._clone('video', video) };
  }

  _clone(kind, track) {
    if (!track) return null;
    const clone = this.clones[kind];
    if (clone && clone.readyState === 'live' && clone.label === track.label) return clone;
    if (clone) clone.stop();
    const made = track.clone();
    made.enabled = false;
    this.clones[kind] = made;
    return made;
  }

  /**
   * Begins the hold: `music` (a URL, or null: the side that put the other on hold); `only`: the
   * userIDs whose connections go silent (null: every one).
   */
  async start({ only = null, ...state }) {
    this.state = { since: Date.now(), ...state, only: only ? new Set(only) : null };
    await this._send(this.muted());
    if (state.music) this._play(state.music);
  }

  /** Ends it: the real tracks go back on the senders, the music stops. */
  async stop() {
    if (!this.state) return;
    const { only } = this.state;
    this.state = null;
    this._silence();
    await this._send(this.tracks(), only);
    for (const kind of ['audio', 'video']) {
      if (this.clones[kind]) this.clones[kind].stop();
      this.clones[kind] = null;
    }
  }

  /** The camera or microphone changed while on hold: the clones follow it. */
  async follow() {
    if (this.state) await this._send(this.muted());
  }

  async _send({ audio, video }, only = this.state && this.state.only) {
    const peers = [...this.peers().values()].filter((p) => !only || only.has(p.userID));
    await Promise.all(peers.flatMap((p) => [
      p.audioSender && p.audioSender.replaceTrack(audio).catch(() => {}),
      p.videoSender && p.videoSender.replaceTrack(video).catch(() => {}),
    ]));
  }

  _play(music) {
    this._silence();
    let url;
    try { url = new URL(music, this.base).href; } catch (err) { return; }
    const player = new Audio();
    // Anonymous CORS: the music is fetched as the SDK is, from another origin than the page.
    player.crossOrigin = 'anonymous';
    player.loop = true;
    player.src = url;
    player.dataset.callcenterHoldMusic = '';
    this.player = player;
    player.play().catch((err) => console.warn('[callcenter] the hold music did not play', err));
  }

  _silence() {
    if (!this.player) return;
    this.player.pause();
    this.player.removeAttribute('src');
    this.player.load();
    this.player = null;
  }
}
