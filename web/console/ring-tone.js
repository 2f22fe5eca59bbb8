// The console rings while an offer waits for the agent: a beep every 1.5 s and a 📞 in the tab's
// title, so an agent in another tab or window notices.
const BEEP_EVERY_MS = 1500;

export class RingTone {
  constructor() {
    this.title = document.title;
    this.ringing = null; // {ctx, timer} while the beeps go
  }

  start() {
    this.stop();
    document.title = `📞 Incoming call · ${this.title}`;
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      const ctx = new Ctx();
      const beep = () => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = 660;
        gain.gain.setValueAtTime(0.0001, ctx.currentTime);
        gain.gain.exponentialRampToValueAtTime(0.15, ctx.currentTime + 0.05);
        gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.6);
        osc.connect(gain).connect(ctx.destination);
        osc.start();
        osc.stop(ctx.currentTime + 0.65);
      };
      beep();
      this.ringing = { ctx, timer: setInterval(beep, BEEP_EVERY_MS) };
    } catch (err) { /* no sound, the panel still shows */ }
  }

  stop() {
    document.title = this.title;
    if (!this.ringing) return;
    clearInterval(this.ringing.timer);
    this.ringing.ctx.close().catch(() => {});
    this.ringing = null;
  }
}
