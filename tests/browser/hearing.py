"""What a page's user hears: the levels of given frequencies in everything the page plays now.

`listen(page)` notes every media element that starts playing from then on (those already playing
in the document are found anyway);
`heard(page, [440, 880])` mixes the sound of those still playing and unmuted (their `srcObject`,
or `captureStream()` of a file such as the hold music) into a WebAudio analyser for a second
and returns, per frequency, its level above the spectrum's median (dB): a tone that is heard
stands 40 dB or more above it (55 to 65), one that is not stays below 28 (a loud tone leaks ~20 dB
into frequencies 100 Hz away). Elements inside open shadow
roots (the widget's) are found too.
"""

from __future__ import annotations

NOTE_PLAYED = """(() => {
  const played = new Set();
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    played.add(this);
    return play.apply(this, args);
  };
  window.__hearing = { ...(window.__hearing || {}), played };
})();"""

MEASURE = """async ({ freqs, ms }) => {
  const found = new Set(window.__hearing ? window.__hearing.played : []);
  const walk = (root) => {
    for (const el of root.querySelectorAll('audio, video')) found.add(el);
    for (const host of root.querySelectorAll('*')) if (host.shadowRoot) walk(host.shadowRoot);
  };
  walk(document);
  const h = window.__hearing || (window.__hearing = { played: new Set() });
  const ctx = h.ctx || (h.ctx = new AudioContext());
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  const sources = [];
  for (const el of found) {
    if (el.paused || el.muted || el.volume === 0) continue;
    let stream = el.srcObject;
    if (!stream) { try { stream = el.captureStream(); } catch (err) { continue; } }
    if (!stream || !stream.getAudioTracks().length) continue;
    const source = ctx.createMediaStreamSource(stream);
    source.connect(analyser);
    sources.push(source);
  }
  const bins = new Float32Array(analyser.frequencyBinCount);
  const power = new Float64Array(bins.length);
  let n = 0;
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    analyser.getFloatFrequencyData(bins);
    for (let i = 0; i < bins.length; i += 1) power[i] += 10 ** (bins[i] / 10);
    n += 1;
  }
  for (const s of sources) s.disconnect();
  const hz = ctx.sampleRate / analyser.fftSize;
  const db = Array.from(power, (p) => 10 * Math.log10(p / n + 1e-30));
  const band = db.slice(Math.floor(150 / hz), Math.ceil(4000 / hz)).sort((a, b) => a - b);
  const floor = band[Math.floor(band.length / 2)];
  const level = (f) => {
    let best = -Infinity;
    for (let k = Math.floor(f / hz) - 2; k <= Math.ceil(f / hz) + 2; k += 1) {
      best = Math.max(best, db[k]);
    }
    return best - floor;
  };
  const levels = Object.fromEntries(freqs.map((f) => [String(f), level(f)]));
  return { sources: sources.length, levels };
}"""

HEARD_DB = 40  # above the median: the tone is there (a tone heard measures 55-65)
UNHEARD_DB = 28  # at most this: it is not (a loud tone 100 Hz away leaks up to ~20)


def listen(page) -> None:
    """Note every media element the page plays from now on (a hold music's `Audio` is in no
    document)."""
    page.evaluate(NOTE_PLAYED)


def heard(page, freqs: list[float], ms: int = 1000) -> dict[float, float]:
    """Each frequency's level (dB above the median of 150 Hz to 4 kHz) in what the page plays."""
    result = page.evaluate(MEASURE, {"freqs": freqs, "ms": ms})
    return {f: result["levels"][str(f)] for f in freqs}


def strongest(levels: dict[float, float], freqs: list[float]) -> float:
    return max(levels[f] for f in freqs)
