// callcenter demo page logic. Element ids are documented at the top of index.html.
// Every string that comes from a user (ids, reasons, server messages) goes in via textContent.
import CallClient from '../sdk/callcenter.js';
import { CallView } from '../ui/call-view.js';
import { eventLog, logClientEvents } from '../ui/event-log.js';
import { at } from '../ui/base.js';
import { fetchJSON } from '../ui/json-api.js';
import { noticeList } from '../ui/notices.js';

const { EVENT, CALL_TYPE } = CallClient;
const $ = (id) => document.getElementById(id);

const el = {
  loginForm: $('login-form'), userId: $('user-id'), login: $('login'),
  session: $('session'), me: $('me'), logout: $('logout'),
  status: $('status'),
  dialer: $('dialer'), callForm: $('call-form'), callee: $('callee'), callTimeout: $('call-timeout'),
  callVideo: $('call-video'), callAudio: $('call-audio'),
  incoming: $('incoming'), incomingFrom: $('incoming-from'), incomingType: $('incoming-type'),
  accept: $('accept'), reject: $('reject'),
  call: $('call'), callPeers: $('call-peers'), timer: $('timer'),
  localVideo: $('local-video'), remoteVideos: $('remote-videos'),
  callControls: $('call-controls'),
  messages: $('messages'), missedCalls: $('missed-calls'),
};

// The page's state. window.demo = {client, events} is read by the browser tests (and handy in the
// browser's console); the page itself never goes through the global.
const demo = {
  client: null,
  events: [], // [{name, data, at}]: every SDK event
  outcome: null, // {kind, text}: why the current call is ending (busy, rejected, ...)
  ringing: null, // the INVITED payload shown in #incoming
};
window.demo = demo;

const notice = noticeList(el.messages, 50);
const callView = new CallView({ timer: el.timer, controls: el.callControls }, {
  client: () => demo.client,
  switchType: true,
  // An audio call has no camera button here either: "Switch to video" is the way to video.
  onError: (err, action) => {
    // A camera that fails is reported through the SDK's ERROR event already.
    if (action === 'switch') notice(EVENT.ERROR, `Could not switch (${describeError(err)}).`);
  },
});

const typeName = (type) => (type === CALL_TYPE.AUDIO_CALL ? 'audio' : 'video');

// ------------------------------------------------------------------ small view helpers

function setStatus(text, state, outcomeKind) {
  el.status.textContent = text;
  if (state) el.status.dataset.state = state;
  if (outcomeKind !== undefined) el.status.dataset.outcome = outcomeKind || '';
}

function addMissed(from, type, at) {
  const li = document.createElement('li');
  li.dataset.from = from;
  const time = document.createElement('time');
  time.textContent = new Date(at * 1000).toLocaleString();
  li.append(time, ' ', `${from} (${typeName(type)} call)`);
  el.missedCalls.prepend(li);
}

function setBusy(busy) {
  for (const b of [el.callVideo, el.callAudio]) b.disabled = busy;
}

function showIncoming(data) {
  demo.ringing = data;
  el.incomingFrom.textContent = data.sponsor;
  el.incomingType.textContent = `${typeName(data.inviteData?.callType ?? data.type)} call${data.isFromGroup ? ', group' : ''}`;
  el.incoming.hidden = false;
  el.accept.disabled = false;
  el.reject.disabled = false;
}

function hideIncoming() {
  demo.ringing = null;
  el.incoming.hidden = true;
}

function addTile(userID) {
  if ($(`tile-${userID}`)) return;
  const tile = document.createElement('div');
  tile.className = 'tile remote';
  tile.id = `tile-${userID}`;
  tile.dataset.userId = userID;
  const view = document.createElement('div');
  view.className = 'view';
  view.id = `remote-view-${userID}`;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = userID;
  const badges = document.createElement('span');
  badges.className = 'badges';
  const level = document.createElement('span');
  level.className = 'level';
  level.append(document.createElement('span'));
  tile.append(view, name, badges, level);
  el.remoteVideos.append(tile);
  demo.client.startRemoteView({ userID, videoViewDomID: view.id });
  updatePeers();
}

function removeTile(userID) {
  const tile = $(`tile-${userID}`);
  if (!tile) return;
  demo.client.stopRemoteView({ userID });
  tile.remove();
  updatePeers();
}

function updatePeers() {
  const ids = [...el.remoteVideos.querySelectorAll('.tile')].map((t) => t.dataset.userId);
  el.callPeers.textContent = ids.length ? `with ${ids.join(', ')}` : '';
}

function setBadge(userID, key, on) {
  const tile = $(`tile-${userID}`);
  if (!tile) return;
  tile.dataset[key] = on ? 'on' : 'off';
  const badges = tile.querySelector('.badges');
  const off = [];
  if (tile.dataset.audio === 'off') off.push('mic off');
  if (tile.dataset.video === 'off') off.push('camera off');
  badges.textContent = off.join(' · ');
}

function showCall(show) {
  const { client } = demo;
  el.call.hidden = !show;
  el.call.classList.toggle('audio-only', !!client && client.callType === CALL_TYPE.AUDIO_CALL);
  if (show) callView.refresh();
}

function resetCallView() {
  callView.ended();
  for (const tile of [...el.remoteVideos.querySelectorAll('.tile')]) removeTile(tile.dataset.userId);
  showCall(false);
  setBusy(false);
}

function describeError(err) {
  const code = err && err.code !== undefined ? `${err.code}: ` : '';
  return `${code}${(err && err.message) || err}`;
}

// ------------------------------------------------------------------ SDK events

function wire(c) {
  logClientEvents(c, eventLog(demo.events));

  c.on(EVENT.SDK_READY, ({ userID }) => {
    setStatus(`Signed in as ${userID}. Ready to call.`, 'idle', '');
  });

  c.on(EVENT.MISSED_CALLS, ({ missedCalls }) => {
    for (const m of missedCalls) addMissed(m.from, m.type, m.at);
    notice(EVENT.MISSED_CALLS, `You missed ${missedCalls.length} call${missedCalls.length === 1 ? '' : 's'} while offline.`);
  });

  c.on(EVENT.INVITED, (data) => {
    showIncoming(data);
    setStatus(`${data.sponsor} is calling you…`, 'ringing', '');
    notice(EVENT.INVITED, `Incoming ${typeName(data.type)} call from ${data.sponsor}.`);
  });

  c.on(EVENT.CALLING_CANCEL, ({ userID }) => {
    const from = userID || demo.ringing?.sponsor || 'The caller';
    const type = demo.ringing?.type;
    hideIncoming();
    addMissed(from, type, Date.now() / 1000);
    setStatus(`${from} cancelled the call.`, 'idle', 'cancelled');
    notice(EVENT.CALLING_CANCEL, `Missed call: ${from} cancelled.`);
  });

  c.on(EVENT.CALLING_TIMEOUT, () => {
    const from = demo.ringing?.sponsor || 'someone';
    const type = demo.ringing?.type;
    hideIncoming();
    addMissed(from, type, Date.now() / 1000);
    setStatus(`Missed call from ${from}: not answered in time.`, 'idle', 'timeout');
    notice(EVENT.CALLING_TIMEOUT, `Missed call from ${from} (not answered in time).`);
  });

  c.on(EVENT.USER_ACCEPT, ({ userID }) => {
    notice(EVENT.USER_ACCEPT, `${userID} accepted.`);
  });

  c.on(EVENT.USER_ENTER, ({ userID }) => {
    addTile(userID);
    showCall(true);
    callView.connected(c.callType);
    setStatus(`In call ${el.callPeers.textContent}`.trim(), 'connected', '');
  });

  c.on(EVENT.USER_LEAVE, ({ userID }) => {
    removeTile(userID);
    notice(EVENT.USER_LEAVE, `${userID} left the call.`);
  });

  c.on(EVENT.LINE_BUSY, ({ userID }) => {
    demo.outcome = { kind: 'busy', text: `${userID} is busy.` };
    notice(EVENT.LINE_BUSY, demo.outcome.text);
    setStatus(demo.outcome.text, undefined, 'busy');
  });

  c.on(EVENT.REJECT, ({ userID }) => {
    demo.outcome = { kind: 'rejected', text: `${userID} declined the call.` };
    notice(EVENT.REJECT, demo.outcome.text);
    setStatus(demo.outcome.text, undefined, 'rejected');
  });

  c.on(EVENT.NO_RESP, ({ userID, reason }) => {
    const outcome = reason === 'offline'
      ? { kind: 'offline', text: `${userID} is offline; they will see a missed call.` }
      : { kind: 'no_answer', text: `${userID} did not answer.` };
    demo.outcome = outcome;
    notice(EVENT.NO_RESP, outcome.text);
    setStatus(outcome.text, undefined, outcome.kind);
  });

  c.on(EVENT.CALL_END, ({ reason, local }) => {
    const texts = {
      hangup: local ? 'You hung up.' : 'The other side hung up.',
      cancelled: 'Call cancelled.',
      rejected: 'The call was declined.',
      no_answer: 'Nobody answered.',
      busy: 'The line is busy.',
      kicked_out: local ? 'Call ended: you signed in elsewhere.' : 'Call ended: the other side signed in elsewhere.',
      disconnected: local ? 'Call ended: connection lost.' : 'Call ended: the other side lost the connection.',
      logout: local ? 'Call ended: signed out.' : 'Call ended: the other side signed out.',
    };
    const o = demo.outcome || { kind: reason === 'hangup' ? 'ended' : reason, text: texts[reason] || `Call ended (${reason}).` };
    demo.outcome = null;
    resetCallView();
    setStatus(o.text, c.isLoggedIn ? 'idle' : 'logged-out', o.kind);
    notice(EVENT.CALL_END, `Call ended: ${o.text}`);
  });

  c.on(EVENT.KICKED_OUT, () => {
    hideIncoming();
    resetCallView();
    showLoggedOut();
    setStatus('You were signed out: this user id signed in somewhere else.', 'logged-out', 'kicked_out');
    notice(EVENT.KICKED_OUT, 'Signed in elsewhere; this page was signed out.');
  });

  c.on(EVENT.USER_AUDIO_AVAILABLE, ({ userID, isAudioAvailable }) => setBadge(userID, 'audio', isAudioAvailable));
  c.on(EVENT.USER_VIDEO_AVAILABLE, ({ userID, isVideoAvailable }) => setBadge(userID, 'video', isVideoAvailable));

  c.on(EVENT.USER_VOICE_VOLUME, ({ volumeMap }) => {
    for (const [userID, volume] of Object.entries(volumeMap)) {
      const bar = $(`tile-${userID}`)?.querySelector('.level > span');
      if (bar) bar.style.width = `${Math.max(0, Math.min(100, volume))}%`;
    }
  });

  c.on(EVENT.CALL_TYPE_CHANGED, ({ newCallType }) => {
    notice(EVENT.CALL_TYPE_CHANGED, newCallType === CALL_TYPE.AUDIO_CALL
      ? 'Switched to an audio call.' : 'Switched to a video call.');
    el.call.classList.toggle('audio-only', newCallType === CALL_TYPE.AUDIO_CALL);
    callView.typeChanged(newCallType);
  });

  c.on(EVENT.ERROR, ({ code, message }) => {
    notice(EVENT.ERROR, `Error ${code}: ${message}`);
  });
}

// ------------------------------------------------------------------ session

function showLoggedIn(userID) {
  el.me.textContent = userID;
  el.loginForm.hidden = true;
  el.session.hidden = false;
  el.dialer.hidden = false;
  setBusy(false);
}

function showLoggedOut() {
  el.loginForm.hidden = false;
  el.session.hidden = true;
  el.dialer.hidden = true;
  el.login.disabled = false;
}

async function login(userID) {
  el.login.disabled = true;
  setStatus('Signing in…', 'logged-out', '');
  try {
    let body;
    try {
      body = await fetchJSON(at('/demo/credential'), { body: { userID } });
    } catch (err) {
      throw Object.assign(new Error(`could not get a credential: ${err.message}`), { code: err.code });
    }
    if (demo.client) await demo.client.logout();
    const client = new CallClient({ appId: body.appId });
    demo.client = client;
    wire(client);
    await client.login({ userID: body.userID, userSig: body.userSig });
    client.startLocalView({ userID: body.userID, videoViewDomID: 'local-video' });
    showLoggedIn(body.userID);
  } catch (err) {
    showLoggedOut();
    setStatus(`Sign-in failed (${describeError(err)}).`, 'logged-out', 'failed');
  }
}

el.loginForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const userID = el.userId.value.trim();
  if (userID) login(userID);
});

el.logout.addEventListener('click', async () => {
  hideIncoming();
  if (demo.client) await demo.client.logout();
  resetCallView();
  showLoggedOut();
  setStatus('Signed out.', 'logged-out', '');
});

// ------------------------------------------------------------------ calling

async function startCall(type) {
  const userID = el.callee.value.trim();
  if (!userID || !el.callee.checkValidity()) {
    el.callee.reportValidity();
    return;
  }
  const raw = el.callTimeout.value.trim();
  const timeout = raw === '' ? undefined : Number(raw);
  const { client } = demo;
  demo.outcome = null;
  setBusy(true);
  setStatus(`Calling ${userID}…`, 'dialing', '');
  el.call.classList.toggle('audio-only', type === CALL_TYPE.AUDIO_CALL);
  try {
    await client.call({ userID, type, timeout });
    if (client.state === 'dialing') {
      showCall(true);
    }
  } catch (err) {
    setBusy(false);
    if (client.state === 'idle' && err.code !== 'CANCELLED') {
      setStatus(`Could not call ${userID} (${describeError(err)}).`, 'idle', 'failed');
    }
  }
}

el.callForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  startCall(CALL_TYPE.VIDEO_CALL);
});
el.callAudio.addEventListener('click', () => startCall(CALL_TYPE.AUDIO_CALL));

el.accept.addEventListener('click', async () => {
  const { client, ringing } = demo;
  if (!ringing) return;
  const from = ringing.sponsor;
  el.accept.disabled = true;
  el.reject.disabled = true;
  try {
    await client.accept();
    hideIncoming();
    showCall(true);
    setBusy(true);
  } catch (err) {
    hideIncoming();
    if (client.state === 'idle') setStatus(`Could not answer ${from} (${describeError(err)}).`, 'idle', 'failed');
  }
});

el.reject.addEventListener('click', async () => {
  const from = demo.ringing?.sponsor;
  hideIncoming();
  await demo.client.reject();
  setStatus(`You declined the call from ${from}.`, 'idle', '');
});

window.addEventListener('pagehide', () => { if (demo.client) demo.client.hangup(); });
