// The view of a call in progress, as the console, the demo and the widget show it: how long it
// has been going (mm:ss), the remote video (hidden in an audio call and while the other side's
// camera is off) with its "Audio call" note, and the call's buttons (call-controls.js).
import { CallControls } from './call-controls.js';
import { mmss } from './time.js';

const TICK_MS = 500; // twice a second, so the clock never seems to skip one

export class CallView {
  /**
   * @param {{timer: Element, controls: Element, remote?: Element, audioOnly?: Element,
   *          localVideo?: Element}} elements
   *   remote: the remote video's box; audioOnly: the note shown instead in an audio call;
   *   localVideo: the own camera's <video>, hidden while the camera is off (the widget's picture
   *   in picture; a page with a tile of its own leaves it out).
   * @param {object} options those of CallControls (client, idPrefix, switchType, ...), and
   *   onTick(text): each time the timer shows a new text.
   */
  constructor({ timer, controls, remote = null, audioOnly = null, localVideo = null },
    { onTick = () => {}, ...controlOptions }) {
    this.timer = timer;
    this.remote = remote;
    this.audioOnly = audioOnly;
    this.localVideo = localVideo;
    this.onTick = onTick;
    this.client = controlOptions.client;
    this.startedAt = null;
    this.ticking = null;
    this.controls = new CallControls(controls, {
      ...controlOptions,
      onRefresh: (c) => {
        if (this.localVideo) this.localVideo.style.visibility = c.isCameraOn ? 'visible' : 'hidden';
      },
    });
  }

  /** The call is connected: the timer starts; the view shows the call's type. */
  connected(type) {
    this.showType(type);
    if (this.startedAt === null) {
      this.startedAt = performance.now();
      this.ticking = setInterval(() => this.tick(), TICK_MS);
    }
    this.tick();
    this.refresh();
  }

  /** An audio call shows the note instead of the remote video. */
  showType(type) {
    const c = this.client();
    const audio = !!c && type === c.CALL_TYPE.AUDIO_CALL;
    if (this.audioOnly) this.audioOnly.hidden = !audio;
    this.remoteVideo(!audio);
  }

  /** The call's type changed: the SDK opens or closes the camera; show it once that settled. */
  typeChanged(type) {
    this.showType(type);
    this.refresh();
    setTimeout(() => this.refresh(), 300);
  }

  /** The other side's camera went on or off. */
  remoteVideo(on) {
    if (this.remote) this.remote.style.visibility = on ? 'visible' : 'hidden';
  }

  /** The call is over: the timer stops and shows 00:00 again. */
  ended() {
    clearInterval(this.ticking);
    this.ticking = null;
    this.startedAt = null;
    this.timer.textContent = mmss(0);
  }

  refresh() {
    this.controls.refresh();
  }

  tick() {
    if (this.startedAt === null) return;
    const text = mmss((performance.now() - this.startedAt) / 1000);
    this.timer.textContent = text;
    this.onTick(text);
  }
}
