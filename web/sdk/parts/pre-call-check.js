// The pre-call check, as TRTC offers on a page of its own: can this browser, with these devices and
// this network, make a call? `CallClient.preCallCheck()` runs it. Each check is {id, ok, detail,
// advice}: `ok` true, false, or null when it could not be tried (say why in `detail`); `advice`
// is what to do, in words a customer understands, when it is not ok.
//   browser     WebRTC, getUserMedia, a secure context (https or localhost)
//   microphone  permission, a track, and its level over a moment (the fake device of tests beeps)
//   camera      permission and frames (shown in `preview` while the check runs); skipped for audio
//   speaker     an output device the browser lists (the page may also play a test sound)
//   server      the round trip to the server's /ping (median of three)
//   stun, turn  a reflexive / a relay candidate from the servers of the hello ack

const SLOW_MS = 800; // a round trip above this makes calls break up
const LEVEL_HEARD = 0.5; // of 100: above a silent (muted) microphone's

function result(id, ok, detail, advice = '') {
  return { id, ok, detail, advice: ok === false ? advice : '' };
}

/** What a getUserMedia failure means for the person in front of it. */
function deviceAdvice(err, what) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return `Allow this site to use your ${what}: click the camera icon in the address bar, choose "Allow", then try again.`;
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') {
    return `We could not find a ${what}. Connect one, or choose another in your system settings.`;
  }
  if (name === 'NotReadableError' || name === 'TrackStartError') {
    return `Your ${what} is being used by another program. Close it (another call, a video app) and try again.`;
  }
  return `Your ${what} did not start (${name || err}). Reload the page and try again.`;
}

function checkBrowser() {
  const webrtc = typeof RTCPeerConnection === 'function';
  const media = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  const secure = typeof window === 'undefined' || window.isSecureContext !== false;
  const ok = webrtc && media && secure;
  let advice = 'This browser cannot make calls. Use a recent Chrome, Edge, Firefox or Safari.';
  if (!secure) advice = 'This page is not secure (no https), so the browser allows no calls. Open it with https://.';
  return result('browser', ok, `WebRTC ${webrtc ? 'yes' : 'no'}, devices ${media ? 'yes' : 'no'}, secure ${secure ? 'yes' : 'no'}`, advice);
}

/** The loudest 0-100 level the track gave during `ms`. */
async function levelOf(track, ms) {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return null;
  const ctx = new Ctx();
  try {
    await ctx.resume();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let loudest = 0;
    const until = performance.now() + ms;
    while (performance.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      loudest = Math.max(loudest, Math.sqrt(sum / samples.length) * 100);
    }
    return Math.round(loudest * 10) / 10;
  } finally {
    ctx.close();
  }
}

async function checkMicrophone(listenMs) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    return result('microphone', false, String((err && err.name) || err), deviceAdvice(err, 'microphone'));
  }
  const [track] = stream.getAudioTracks();
  try {
    const level = await levelOf(track, listenMs);
    if (level === null) return result('microphone', true, `${track.label || 'microphone'}: level not measured`);
    return result('microphone', level >= LEVEL_HEARD, `${track.label || 'microphone'}: level ${level}`,
      'We hear nothing from your microphone. Check that it is not muted (a switch or a key), and speak.');
  } finally {
    for (const t of stream.getTracks()) t.stop();
  }
}

async function checkCamera(preview) {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true });
  } catch (err) {
    return result('camera', false, String((err && err.name) || err), deviceAdvice(err, 'camera'));
  }
  const video = preview || document.createElement('video');
  try {
    video.muted = true;
    video.playsInline = true;
    video.srcObject = stream;
    await video.play().catch(() => {});
    const until = performance.now() + 3000;
    while (!video.videoWidth && performance.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (preview) await new Promise((r) => setTimeout(r, 1000)); // a moment to see oneself
    return result('camera', video.videoWidth > 0, `${video.videoWidth}×${video.videoHeight}`,
      'Your camera gives no picture. Check that nothing covers it and that no other program uses it.');
  } finally {
    video.srcObject = null;
    for (const t of stream.getTracks()) t.stop();
  }
}

async function checkSpeaker() {
  try {
    const outputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audiooutput');
    // Browsers that do not list outputs (Firefox, Safari) play on the system's default one.
    if (!outputs.length) return result('speaker', null, 'the browser does not list speakers: the default one plays');
    return result('speaker', true, `${outputs.length} output(s)`);
  } catch (err) {
    return result('speaker', null, String(err));
  }
}

async function checkServer(server) {
  const times = [];
  try {
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      const base = server.endsWith('/') ? server : `${server}/`; // a sub-path keeps its last part
      const response = await fetch(new URL('ping', base).href, { cache: 'no-store', credentials: 'omit' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      times.push(performance.now() - started);
    }
  } catch (err) {
    return result('server', false, String(err),
      'We cannot reach our call service. Check your internet connection (or a firewall or proxy), then try again.');
  }
  const ms = Math.round(times.sort((a, b) => a - b)[1]);
  return result('server', ms <= SLOW_MS, `${ms} ms round trip`,
    `Your connection to us is slow (${ms} ms): calls may break up. A wired or closer network helps.`);
}

/** The candidate types gathered with these servers and this policy, within `ms`. */
async function gather(iceServers, policy, ms) {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: policy });
  const types = new Set();
  try {
    pc.createDataChannel('check');
    const done = new Promise((resolve) => {
      pc.onicecandidate = (ev) => {
        if (ev.candidate) types.add(ev.candidate.type || (/ typ (\w+)/.exec(ev.candidate.candidate) || [])[1]);
        else resolve();
      };
      setTimeout(resolve, ms);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
  } finally {
    pc.close();
  }
  return types;
}

async function checkRelays(rtc, gatherMs) {
  const servers = (rtc && rtc.iceServers) || [];
  const urls = servers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls])).filter(Boolean);
  const stunServers = servers.filter((s) => [].concat(s.urls).some((u) => /^stuns?:/.test(u)));
  const turnServers = servers.filter((s) => [].concat(s.urls).some((u) => /^turns?:/.test(u)));
  if (!rtc) {
    const why = 'sign in first: the servers come with the session';
    return [result('stun', null, why), result('turn', null, why)];
  }
  const checks = [];
  if (!stunServers.length) {
    checks.push(result('stun', null, urls.length ? 'no STUN server is configured' : 'no STUN or TURN server is configured'));
  } else {
    const types = await gather(stunServers, 'all', gatherMs);
    checks.push(result('stun', types.has('srflx'), [...types].join(', ') || 'no candidates',
      'We could not learn your public address. Calls may still work through our relay.'));
  }
  if (!turnServers.length) {
    checks.push(result('turn', null, 'no relay (TURN) server is configured'));
  } else {
    const types = await gather(turnServers, 'relay', gatherMs);
    checks.push(result('turn', types.has('relay'), types.has('relay') ? 'relay reached' : 'no relay candidate',
      'We could not reach our relay. On a strict company or hotel network, calls may not connect: try another network.'));
  }
  return checks;
}

/**
 * Runs every check. `server`: the server's base URL; `rtc`: {iceServers} of the hello ack (null
 * before login); `video`: check the camera; `preview`: a <video> that shows the camera meanwhile.
 * @returns {Promise<{ok: boolean, checks: Array<{id, ok, detail, advice}>}>} ok: no check failed
 */
export async function preCallCheck({ server, rtc = null, video = true, preview = null,
  listenMs = 1200, gatherMs = 5000 } = {}) {
  const browser = checkBrowser();
  const checks = [browser];
  if (browser.ok) {
    checks.push(await checkMicrophone(listenMs));
    checks.push(video ? await checkCamera(preview) : result('camera', null, 'an audio call needs no camera'));
    checks.push(await checkSpeaker());
  }
  checks.push(await checkServer(server));
  if (browser.ok) checks.push(...await checkRelays(rtc, gatherMs));
  return { ok: checks.every((c) => c.ok !== false), checks };
}
