// Where video is shown and sound played: the local camera into the elements of
// startLocalView(), each remote participant's camera into the element of startRemoteView(), and
// each remote participant's sound through an <audio> of its own (videos are always muted), which
// starts on the next click or key press when the browser refuses autoplay.

export class Views {
  constructor() {
    this.local = new Map(); // userID -> element or DOM id
    this.remote = new Map(); // userID -> element or DOM id
    this.audio = new Map(); // remote userID -> its <audio>
    this.pendingPlay = new Set();
    this.playOnGesture = null;
  }

  /** `ref` is a DOM id or the element itself (e.g. inside a shadow root). */
  element(ref) {
    if (ref && typeof ref === 'object' && ref.nodeType === 1) return ref;
    return typeof document !== 'undefined' && typeof ref === 'string' ? document.getElementById(ref) : null;
  }

  /** The <video> for `ref`: the element itself, or one the SDK adds to a container. */
  videoFor(ref) {
    const el = this.element(ref);
    if (!el) return null;
    if (el.tagName === 'VIDEO') return el;
    let video = el.querySelector('video[data-callcenter]');
    if (!video) {
      video = document.createElement('video');
      video.dataset.callcenter = '1';
      video.className = 'callcenter-video';
      el.appendChild(video);
    }
    return video;
  }

  attach(video, tracks) {
    // Videos are always muted: remote sound plays through a separate <audio> per peer.
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    if (!tracks.length) {
      video.srcObject = null;
      return;
    }
    const current = video.srcObject;
    const same = current && current.getTracks().length === tracks.length
      && tracks.every((t) => current.getTracks().includes(t));
    if (!same) video.srcObject = new MediaStream(tracks);
    const p = video.play();
    if (p && p.catch) p.catch(() => {});
  }

  detach(ref) {
    const el = this.element(ref);
    if (!el) return;
    if (el.tagName === 'VIDEO') {
      el.srcObject = null;
    } else {
      const video = el.querySelector('video[data-callcenter]');
      if (video) { video.srcObject = null; video.remove(); }
    }
  }

  /** Shows the camera track (or nothing) in every local view. */
  renderLocal(videoTrack) {
    for (const ref of this.local.values()) {
      const video = this.videoFor(ref);
      if (video) this.attach(video, videoTrack ? [videoTrack] : []);
    }
  }

  /** Plays `stream`'s sound and shows its video in the remote view of `userID`, if there is one. */
  renderRemote(userID, stream) {
    if (typeof document === 'undefined') return;
    const sound = stream.getAudioTracks();
    if (sound.length) {
      let audio = this.audio.get(userID);
      if (!audio) {
        audio = document.createElement('audio');
        audio.autoplay = true;
        audio.dataset.callcenterAudio = userID;
        audio.style.display = 'none';
        document.body.appendChild(audio);
        this.audio.set(userID, audio);
      }
      if (!audio.srcObject) {
        audio.srcObject = new MediaStream(sound);
        this.play(audio);
      }
    }
    const ref = this.remote.get(userID);
    if (ref) {
      const video = this.videoFor(ref);
      if (video) this.attach(video, stream.getVideoTracks());
    }
  }

  /** `userID` left: its sound goes, its remote view (which stays where it is) goes blank. */
  dropRemote(userID) {
    const audio = this.audio.get(userID);
    if (audio) {
      this.audio.delete(userID);
      audio.srcObject = null;
      audio.remove();
      this.pendingPlay.delete(audio);
    }
    const ref = this.remote.get(userID);
    if (ref) this.detach(ref);
  }

  /** Plays an element; if autoplay is refused, retries on the next user gesture. */
  play(el) {
    const p = el.play();
    if (!p || !p.catch) return;
    p.catch((err) => {
      if (!err || err.name !== 'NotAllowedError') return;
      this.pendingPlay.add(el);
      if (this.playOnGesture) return;
      this.playOnGesture = () => {
        for (const pending of this.pendingPlay) pending.play().catch(() => {});
        this.pendingPlay.clear();
        document.removeEventListener('click', this.playOnGesture, true);
        document.removeEventListener('keydown', this.playOnGesture, true);
        this.playOnGesture = null;
      };
      document.addEventListener('click', this.playOnGesture, true);
      document.addEventListener('keydown', this.playOnGesture, true);
    });
  }
}
