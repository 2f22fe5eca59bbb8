// The buttons of a call in progress, as the console, the demo and the widget show them: mute,
// camera, switch between audio and video (the demo only) and hang up. They act on the SDK's
// client and show its state (text, aria-pressed).

export class CallControls {
  /**
   * Builds the buttons in `row` (ids `<idPrefix>mute`, `<idPrefix>camera`,
   * `<idPrefix>switch-type`, `<idPrefix>hangup`) and wires them to `client()`, the CallClient of
   * the call (null when there is none).
   * @param {Element} row
   * @param {{client: Function, idPrefix?: string, switchType?: boolean, cameraInAudioCalls?: boolean,
   *          onError?: Function, onRefresh?: Function}} options
   *   switchType: offer the switch between audio and video; cameraInAudioCalls: keep the camera
   *   button in an audio call (the demo: its page is there to try the SDK); onError(err, action):
   *   a camera or switch action failed ('camera' | 'switch'); onRefresh(client): after the
   *   buttons show a new state.
   */
  constructor(row, { client, idPrefix = '', switchType = false, cameraInAudioCalls = false,
    onError = () => {}, onRefresh = () => {} }) {
    this.client = client;
    this.cameraInAudioCalls = cameraInAudioCalls;
    this.onRefresh = onRefresh;
    this.onError = onError;
    const button = (id, text, cls) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.id = `${idPrefix}${id}`;
      b.className = cls;
      b.textContent = text;
      row.append(b);
      return b;
    };
    this.mute = button('mute', 'Mute', 'secondary');
    this.camera = button('camera', 'Camera off', 'secondary');
    this.switchType = switchType ? button('switch-type', 'Switch to audio', 'secondary') : null;
    this.hangup = button('hangup', 'Hang up', 'danger');
    this.mute.setAttribute('aria-pressed', 'false');
    this.camera.setAttribute('aria-pressed', 'false');

    this.act(this.mute, null, (c) => c.setMicMute(!c.isMicMuted));
    this.act(this.camera, 'camera', (c) => (c.isCameraOn ? c.closeCamera() : c.openCamera()));
    if (this.switchType) {
      this.act(this.switchType, 'switch', (c) => (c.callType === c.CALL_TYPE.AUDIO_CALL
        ? c.switchToVideoCall() : c.switchToAudioCall()));
    }
    // hangup() never rejects; CALL_END tells the page the call is over.
    this.hangup.addEventListener('click', () => { const c = this.client(); if (c) c.hangup(); });
  }

  /** Runs `action(client)` on a click, the button disabled meanwhile, then shows the new state. */
  act(b, name, action) {
    b.addEventListener('click', async () => {
      const c = this.client();
      if (!c) return;
      b.disabled = true;
      try {
        await action(c);
      } catch (err) {
        this.onError(err, name);
      } finally {
        b.disabled = false;
        this.refresh();
      }
    });
  }

  /** Shows the client's state: muted or not, camera on or off, the call's type. */
  refresh() {
    const c = this.client();
    if (!c) return;
    this.mute.textContent = c.isMicMuted ? 'Unmute' : 'Mute';
    this.mute.setAttribute('aria-pressed', String(c.isMicMuted));
    this.camera.hidden = !this.cameraInAudioCalls && c.callType !== c.CALL_TYPE.VIDEO_CALL;
    this.camera.textContent = c.isCameraOn ? 'Camera off' : 'Camera on';
    this.camera.setAttribute('aria-pressed', String(!c.isCameraOn));
    if (this.switchType) {
      this.switchType.textContent = c.callType === c.CALL_TYPE.AUDIO_CALL ? 'Switch to video' : 'Switch to audio';
    }
    this.onRefresh(c);
  }
}
