// A call on hold (docs/protocol.md, "Call control"). While it lasts, this side sends silence and
// black frames to the other side: its senders carry disabled clones of its tracks. Bytes still
// flow, so the media watch sees no stall, ICE stays up and nothing is renegotiated; the recorder's
// leg keeps the real tracks. The held side also plays the hold music, in a loop.

export class OnHold {
  /**
   * @param {{senders: (key: string) => RTCRtpSender[], tracks: () => {audio, video},
   *   base: string}} deps  senders: the call's peer senders ('audioSender' | 'videoSender');
   *   tracks: this side's real tracks; base: the server's URL, for music given as a path.
   */
  constructor({ senders, tracks, base }) {
    this.senders = senders;
    this.tracks = tracks;
    this.base = base;
    this.state = null; // {callId, by, since, music, transfer}
    this.clones = { audio: null, video: null };
    this.player = null;
  }

  get held() { return !!this.state; }

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

  /** Begins the hold: `music` (a URL, or null: the side that put the other on hold). */
  async start(state) {
    this.state = { since: Date.now(), ...state };
    await this._send(this.muted());
    if (state.music) this._play(state.music);
  }

  /** Ends it: the real tracks go back on the senders, the music stops. */
  async stop() {
    if (!this.state) return;
    this.state = null;
    this._silence();
    await this._send(this.tracks());
    for (const kind of ['audio', 'video']) {
      if (this.clones[kind]) this.clones[kind].stop();
      this.clones[kind] = null;
    }
  }

  /** The camera or microphone changed while on hold: the clones follow it. */
  async follow() {
    if (this.state) await this._send(this.muted());
  }

  async _send({ audio, video }) {
    await Promise.all([
      ...this.senders('audioSender').map((s) => s.replaceTrack(audio).catch(() => {})),
      ...this.senders('videoSender').map((s) => s.replaceTrack(video).catch(() => {})),
    ]);
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
