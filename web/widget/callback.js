// Callbacks in the customer widget (docs/protocol.md, `callback`): once the estimated wait reaches
// the queue's `callbackAfter`, the queued view offers "Call me back instead"; the customer leaves a
// name, an email or phone and a note, and the call keeps its place in line without them on it. The
// widget then says "We will call you back — keep this site open" on every page of the site (the
// credential and the SDK's resume state go into sessionStorage on `pagehide`, as for a call, and the
// widget on the next page logs in again with them); when the agent who took the callback rings,
// it shows Answer / Not now wherever the customer is, and an answer makes it an ordinary call.
//
// Ids inside the shadow root (widget.js lists the others): in the queued view #cc-cb-offer holding
// #cc-cb-ask, the form #cc-cb-form (#cc-cb-name, #cc-cb-email, #cc-cb-phone, #cc-cb-note,
// #cc-cb-submit, #cc-cb-error); #cc-callback (states `callback` and `callback_ringing`) holding
// #cc-cb-status, #cc-cb-detail and #cc-cb-ring with #cc-cb-answer and #cc-cb-decline.
// window.callcenterWidget.callback: {callId, queue, position, ringing} while one is asked for.

const OFFER_HTML = `
<div id="cc-cb-offer" hidden>
  <p class="muted">Rather not wait? We can call you back, here on this site, when it is your turn.</p>
  <button class="secondary" id="cc-cb-ask" type="button">Call me back instead</button>
</div>
<form id="cc-cb-form" hidden>
  <div class="body" style="padding:0">
    <label>Your name<input type="text" id="cc-cb-name" maxlength="64" autocomplete="name"></label>
    <label>Email (in case we cannot reach you here)<input type="text" id="cc-cb-email" maxlength="254" autocomplete="email" inputmode="email"></label>
    <label>or phone<input type="text" id="cc-cb-phone" maxlength="32" autocomplete="tel" inputmode="tel"></label>
    <label>Note (optional)<input type="text" id="cc-cb-note" maxlength="500"></label>
    <p class="muted" id="cc-cb-error" role="alert" hidden></p>
    <button class="primary" id="cc-cb-submit" type="submit">Call me back</button>
  </div>
</form>`;

const SECTION_HTML = `
<div id="cc-callback" hidden>
  <div class="body" style="padding:0">
    <p class="big" id="cc-cb-status" role="status"></p>
    <p class="muted" id="cc-cb-detail"></p>
    <div class="row" id="cc-cb-ring" hidden>
      <button class="primary" id="cc-cb-answer" type="button">Answer</button>
      <button class="secondary" id="cc-cb-decline" type="button">Not now</button>
    </div>
  </div>
</div>`;

const WAITING_TEXT = 'We will call you back — keep this site open.';
const KEPT_FOR_MS = 24 * 3600 * 1000; // the credential's own expiry ends it sooner (AUTH_EXPIRED)

function fragment(html) {
  const template = document.createElement('template');
  template.innerHTML = html; // constant markup: nothing from a person goes in here
  return template.content;
}

/**
 * Adds callbacks to the panel. `ctx`: what panel.js shares: widget, session, cfg, root, ui (its
 * elements), setState, log, loadSdk, wire (wires a new CallClient), openPanel, server (ORIGIN).
 * Returns the hooks panel.js calls: wire(client), queueUpdate(d), state(state), resume().
 */
export function mountCallback(ctx) {
  const { widget, session, cfg, root, ui, setState, log } = ctx;
  ui.cancel.parentElement.before(fragment(OFFER_HTML));
  ui.end.before(fragment(SECTION_HTML));
  const $ = (id) => root.getElementById(id);
  const el = {
    offer: $('cc-cb-offer'), ask: $('cc-cb-ask'), form: $('cc-cb-form'), name: $('cc-cb-name'),
    email: $('cc-cb-email'), phone: $('cc-cb-phone'), note: $('cc-cb-note'), error: $('cc-cb-error'),
    submit: $('cc-cb-submit'), section: $('cc-callback'), status: $('cc-cb-status'),
    detail: $('cc-cb-detail'), ring: $('cc-cb-ring'), answer: $('cc-cb-answer'), decline: $('cc-cb-decline'),
  };
  const KEPT_KEY = `callcenter.widget.${cfg.appId}.callback`;
  let ringing = null; // the INVITED of the agent's ring, while it rings

  function show(text, detail) {
    el.status.textContent = text;
    el.detail.textContent = detail || '';
  }

  function waiting(detail) {
    ringing = null;
    if (widget.callback) widget.callback.ringing = false;
    el.ring.hidden = true;
    show(WAITING_TEXT, detail);
    setState('callback', { callId: widget.callback && widget.callback.callId });
  }

  // ---------------------------------------------------------------- asking

  async function ask(ev) {
    ev.preventDefault();
    const client = widget.client;
    const contact = {
      name: el.name.value.trim(), email: el.email.value.trim(), phone: el.phone.value.trim(),
      note: el.note.value.trim(),
    };
    if (!contact.email && !contact.phone) {
      el.error.textContent = 'Please give an email or a phone number, in case we cannot reach you here.';
      el.error.hidden = false;
      return;
    }
    el.submit.disabled = true;
    try {
      const ack = await client.requestCallback(contact);
      widget.callback = { callId: ack.callId, queue: ack.queue, position: ack.position, ringing: false };
      widget.callId = null; // our side of the call is over: a page that goes ends nothing
      ui.preview.hidden = true;
      el.form.hidden = true;
      log('callback', { callId: ack.callId, position: ack.position });
      waiting(ack.position === 1 ? 'You are next in line.' : `You keep your place in line (number ${ack.position}).`);
    } catch (err) {
      el.error.textContent = err.code === 'BAD_CONTACT' ? 'Please check the email or phone number.'
        : `We could not arrange a callback (${err.code || 'error'}). You are still in line.`;
      el.error.hidden = false;
      log('error', { code: err.code || null, message: err.message });
    } finally {
      el.submit.disabled = false;
    }
  }

  el.ask.addEventListener('click', () => {
    el.offer.hidden = true;
    el.form.hidden = false;
    el.error.hidden = true;
    if (!el.name.value) el.name.value = ui.name.value.trim();
    setTimeout(() => el.name.focus(), 0);
  });
  el.form.addEventListener('submit', ask);

  // ---------------------------------------------------------------- the agent's ring

  async function answer() {
    const invite = ringing;
    const client = widget.client;
    if (!invite || !client) return;
    ringing = null;
    el.ring.hidden = true;
    forget();
    widget.callId = invite.callId; // USER_ENTER of the agent makes it the widget's call
    session.lastCallId = invite.callId;
    session.callType = invite.callType;
    session.agentId = invite.sponsor;
    show('Connecting…');
    try {
      await client.accept();
      widget.callback = null;
    } catch (err) {
      log('error', { code: err.code || null, message: err.message });
      widget.callId = null;
      waiting('We could not connect. We will try again.');
    }
  }

  el.answer.addEventListener('click', () => { answer(); });
  el.decline.addEventListener('click', () => {
    if (widget.client) widget.client.reject();
    waiting('We will try again a little later.');
  });

  function wire(client) {
    const E = client.EVENT;
    client.on(E.INVITED, (d) => {
      if (!d.callback || !widget.callback || d.callId !== widget.callback.callId) return;
      ringing = d;
      widget.callback.ringing = true;
      const agent = d.callback.agent || {};
      show(`${agent.name || agent.userID || 'An agent'} is calling you back`, 'Answer to talk now.');
      el.ring.hidden = false;
      setState('callback_ringing', { callId: d.callId, agent: agent.userID });
      ctx.openPanel(true);
    });
    client.on(E.CALLING_CANCEL, (d) => {
      if (widget.callback && d.callId === widget.callback.callId && widget.state === 'callback_ringing') {
        waiting('We missed you. We will try again a little later.');
      }
    });
  }

  // ---------------------------------------------------------------- the panel's hooks

  function queueUpdate(d) {
    const after = d.callbackAfter;
    const offered = widget.state === 'queued' && typeof after === 'number' && !d.ringing
      && typeof d.estimatedWait === 'number' && d.estimatedWait >= after;
    el.offer.hidden = !offered || !el.form.hidden;
  }

  function state(s) {
    el.section.hidden = s !== 'callback' && s !== 'callback_ringing';
    if (s !== 'queued') {
      el.offer.hidden = true;
      el.form.hidden = true;
    }
    if (s === 'callback' || s === 'callback_ringing') ui.launcherLabel.textContent = 'Call back requested';
  }

  // ---------------------------------------------------------------- the next page of the site

  function forget() {
    try { sessionStorage.removeItem(KEPT_KEY); } catch (err) { /* nothing kept */ }
  }

  window.addEventListener('pagehide', () => {
    const resume = widget.client && widget.client.session;
    if (!widget.callback || !resume) return;
    try {
      sessionStorage.setItem(KEPT_KEY, JSON.stringify({
        ...resume, userSig: session.userSig, callback: { ...widget.callback, ringing: false },
        until: Date.now() + KEPT_FOR_MS,
      }));
    } catch (err) { /* storage refused: the callback still comes to the contact left */ }
  });

  /** A callback asked for on an earlier page: log in again and wait for the ring. */
  async function resume() {
    let kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(KEPT_KEY) || 'null'); } catch (err) { /* none */ }
    if (!kept || !kept.callback || !(kept.until > Date.now())) return false;
    widget.callback = kept.callback;
    session.userSig = kept.userSig;
    waiting();
    try {
      const CallClient = await ctx.loadSdk();
      const client = new CallClient({ server: ctx.server, appId: cfg.appId });
      widget.client = client;
      ctx.wire(client);
      await client.login({
        userID: kept.userID, userSig: kept.userSig, resumeToken: kept.resumeToken, lastSeq: kept.lastSeq,
      });
    } catch (err) {
      log('error', { code: (err && err.code) || null, message: err && err.message });
      forget();
      widget.callback = null;
      setState('idle');
    }
    return true;
  }

  return { wire, queueUpdate, state, resume };
}
