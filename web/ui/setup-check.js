// The pre-call check's screen (the SDK's preCallCheck(), docs/protocol.md "Pre-call check"), as
// the widget shows it before a call and the console before an agent goes available: one line per
// check with what was found and, when it failed, what to do; a test sound for the speaker. Every
// text goes in through textContent.

const NAMES = {
  browser: 'Browser', microphone: 'Microphone', camera: 'Camera', speaker: 'Speaker',
  server: 'Connection to us', stun: 'Network', turn: 'Relay',
};
const VERDICT = { true: 'OK', false: 'Problem', null: 'Not checked' };

export class SetupCheck {
  /**
   * @param {{list: Element, summary: Element, preview?: HTMLVideoElement, sound?: Element}} el
   *   list: an <ul> for the results; summary: a role=status line; preview: the camera while
   *   checked; sound: a button that plays `soundUrl`
   * @param {{client: Function, video?: Function, soundUrl?: string}} deps  client(): a
   *   CallClient (logged in for the STUN/TURN checks); video(): whether to check the camera
   */
  constructor(el, { client, video = () => true, soundUrl = null }) {
    Object.assign(this, { el, client, video, soundUrl });
    this.result = null;
    this.player = null;
    if (el.sound && soundUrl) el.sound.addEventListener('click', () => this.playSound());
  }

  async run() {
    const { el } = this;
    el.list.replaceChildren();
    el.summary.textContent = 'Checking your browser, microphone, camera and connection…';
    el.summary.dataset.state = 'running';
    if (el.preview) el.preview.hidden = !this.video();
    let result;
    try {
      result = await this.client().preCallCheck({ video: this.video(), preview: el.preview || null });
    } catch (err) {
      el.summary.textContent = `The check did not run: ${err.message || err}`;
      el.summary.dataset.state = 'failed';
      return null;
    } finally {
      if (el.preview) el.preview.hidden = true;
    }
    this.render(result);
    return result;
  }

  render(result) {
    const { el } = this;
    this.result = result;
    for (const check of result.checks) {
      const li = document.createElement('li');
      li.dataset.check = check.id;
      li.dataset.ok = String(check.ok);
      const head = document.createElement('strong');
      head.textContent = `${NAMES[check.id] || check.id}: ${VERDICT[String(check.ok)]}`;
      li.append(head, ` — ${check.detail}`);
      if (check.advice) {
        const advice = document.createElement('p');
        advice.className = 'advice';
        advice.textContent = check.advice;
        li.append(advice);
      }
      el.list.append(li);
    }
    el.summary.dataset.state = result.ok ? 'ok' : 'failed';
    el.summary.textContent = result.ok ? 'All set: you can make a call.'
      : 'Something needs your attention before a call: see below.';
  }

  playSound() {
    if (this.player) { this.player.pause(); this.player = null; return; }
    this.player = new Audio(this.soundUrl);
    this.player.play().catch(() => {});
    setTimeout(() => { if (this.player) this.player.pause(); this.player = null; }, 4000);
  }
}
