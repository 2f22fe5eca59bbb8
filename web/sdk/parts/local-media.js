// This side's microphone and camera: one audio and one video MediaStreamTrack at most, opened on
// demand with the chosen devices and video quality, and the mute state. Every call, peer and the
// recorder send these same tracks (see callcenter.js: replaceTrack on every sender).
import { CALL_TYPE, ERROR_CODE } from './constants.js';
import { sdkError } from './errors.js';

const VIDEO_QUALITY = Object.freeze({
  '480p': { width: 640, height: 480 },
  '720p': { width: 1280, height: 720 },
  '1080p': { width: 1920, height: 1080 },
});

export function hasWebRTC() {
  return typeof RTCPeerConnection === 'function'
    && typeof navigator !== 'undefined'
    && !!navigator.mediaDevices
    && typeof navigator.mediaDevices.getUserMedia === 'function';
}

export class LocalMedia {
  /** @param {Function} fail (code, message) → the Error to throw, also reported as an ERROR event */
  constructor(fail) {
    this.fail = fail;
    this.audio = null; // MediaStreamTrack
    this.video = null; // MediaStreamTrack
    this.muted = false;
    this.quality = '720p';
    this.deviceIds = { audio: null, video: null };
  }

  /** Throws 60006 unless this browser can make calls here. */
  checkWebRTC(message = 'this browser does not support WebRTC (or the page is not a secure context)') {
    if (!hasWebRTC()) throw this.fail(ERROR_CODE.WEBRTC_UNSUPPORTED, message);
  }

  /** A new track of `kind` ('audio' | 'video') from the chosen device; device errors as 6000x. */
  async open(kind) {
    this.checkWebRTC();
    let constraints;
    if (kind === 'audio') {
      constraints = { audio: this.deviceIds.audio ? { deviceId: { exact: this.deviceIds.audio } } : true };
    } else {
      const q = VIDEO_QUALITY[this.quality] || VIDEO_QUALITY['720p'];
      const video = { width: { ideal: q.width }, height: { ideal: q.height } };
      if (this.deviceIds.video) video.deviceId = { exact: this.deviceIds.video };
      constraints = { video };
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      return kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    } catch (err) {
      const name = err && err.name;
      if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
        throw this.fail(ERROR_CODE.PERMISSION_DENIED, `${kind === 'audio' ? 'microphone' : 'camera'} permission denied`);
      }
      if (kind === 'audio') throw this.fail(ERROR_CODE.NO_MICROPHONE, `no usable microphone (${name || err})`);
      throw this.fail(ERROR_CODE.NO_CAMERA, `no usable camera (${name || err})`);
    }
  }

  /**
   * Opens the microphone, and the camera for a video call (closes it for an audio call). When the
   * camera fails, the microphone is released again.
   */
  async prepare(type) {
    this.checkWebRTC();
    if (!this.audio || this.audio.readyState === 'ended') {
      this.audio = await this.open('audio');
      this.audio.enabled = !this.muted;
    }
    if (type === CALL_TYPE.VIDEO_CALL) {
      if (!this.video || this.video.readyState === 'ended') {
        try {
          this.video = await this.open('video');
        } catch (err) {
          this.stop();
          throw err;
        }
      }
    } else if (this.video) {
      this.video.stop();
      this.video = null;
    }
  }

  stop() {
    if (this.audio) { this.audio.stop(); this.audio = null; }
    if (this.video) { this.video.stop(); this.video = null; }
  }

  setMuted(mute) {
    this.muted = !!mute;
    if (this.audio) this.audio.enabled = !this.muted;
  }

  /** What the other side is told this side sends (`media_state`). */
  get sending() {
    return { audio: !!this.audio && !this.muted, video: !!this.video };
  }

  /** '480p' | '720p' | '1080p': for the camera open now, and the next one. */
  async setQuality(quality) {
    if (!VIDEO_QUALITY[quality]) throw sdkError('BAD_REQUEST', `unknown video quality ${quality}`);
    this.quality = quality;
    if (this.video) {
      const q = VIDEO_QUALITY[quality];
      try {
        await this.video.applyConstraints({ width: { ideal: q.width }, height: { ideal: q.height } });
      } catch (err) { /* applies to the next camera instead */ }
    }
  }

  /** The devices of `kind` ('videoinput' | 'audioinput'). */
  async devices(kind) {
    this.checkWebRTC('WebRTC unsupported');
    return (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind);
  }

  /**
   * Chooses the device of `kind` ('audio' | 'video'). When a track of that kind is live, a new one
   * is opened from the device and resolves as {track, old} (the caller moves its senders over,
   * then stops `old`); otherwise resolves null and the next track uses the device.
   */
  async chooseDevice(kind, deviceId) {
    const previous = this.deviceIds[kind];
    this.deviceIds[kind] = deviceId || null;
    const old = kind === 'audio' ? this.audio : this.video;
    if (!old) return null;
    let track;
    try {
      track = await this.open(kind);
    } catch (err) {
      this.deviceIds[kind] = previous;
      throw err;
    }
    if (kind === 'audio') {
      track.enabled = !this.muted;
      this.audio = track;
    } else {
      this.video = track;
    }
    return { track, old };
  }
}
