/*
 * callcenter customer widget: one script tag on any website adds a floating call button.
 *
 *   <script src="https://calls.example/widget/widget.js" data-app="demo" data-queue="sales"></script>
 *
 * Attributes (all optional but data-app/data-queue):
 *   data-app        the app (tenant) id                       default "demo"
 *   data-queue      the queue to join                         default "default"
 *   data-user-id, data-user-sig
 *                   a customer credential minted by the business's own server (its claims reach the
 *                   agent as verified identity); without them the widget asks the callcenter for an
 *                   anonymous one (POST /api/customer-credential; the page's origin must be listed
 *                   in the app's allowed_origins)
 *   data-type       "video" (default) or "audio": the preselected call type
 *   data-language   the customer's language, default navigator.language
 *   data-label      the button's text, default "Call us"
 *   data-title      the panel's title, default "Talk to us"
 *   data-position   "right" (default) or "left"
 *
 * This file is only the loader: a classic script, because only a classic script can find its own
 * tag (document.currentScript) and so its attributes and its server. The widget itself is ES
 * modules on that server, imported from there: panel.js (the flow) with panel-style.js,
 * panel-markup.js and customer-messages.js beside it, the parts it shares with the console and
 * the demo from /ui/, and, once the panel opens, the SDK from /sdk/callcenter.js. Browsers fetch
 * modules in CORS mode: the server sends Access-Control-Allow-Origin for /widget/*, /ui/* and
 * /sdk/*. Everything is drawn inside a shadow root, so the host page's CSS cannot reach it. Every
 * text that can come from a person is set with textContent.
 *
 * Element ids inside the shadow root (stable, used by tests; Playwright's CSS selectors pierce open
 * shadow roots): #cc-launcher (floating button), #cc-panel[data-state], #cc-close, #cc-title,
 *   form:      #cc-form, #cc-name, #cc-topic, #cc-type-video, #cc-type-audio (radios), #cc-start,
 *              #cc-check ("Test my microphone and connection": the pre-call check) opening
 *              #cc-check-panel with #cc-check-summary (role=status, data-state running | ok |
 *              failed), #cc-check-preview, #cc-check-list (li[data-check][data-ok] with the advice),
 *              #cc-check-sound, #cc-check-again, #cc-check-close
 *   progress:  #cc-progress (text)
 *   queued:    #cc-queued, #cc-position, #cc-wait, #cc-recorded (shown when the call will be
 *              recorded), #cc-cancel
 *   call:      #cc-call, #cc-remote (the SDK adds a <video>), #cc-local (<video>), #cc-timer,
 *              #cc-agent ("You are talking with <the agent's name>", from QUEUE_ANSWERED),
 *              #cc-link (shown while a dropped connection, ours or the agent's, is resumed),
 *              #cc-unheard (shown while the agent receives no media from us: MEDIA_STALLED),
 *              #cc-hold (shown while on hold, or while a transfer's target is sought),
 *              #cc-controls holding #cc-mute, #cc-camera, #cc-hangup
 *   rating:    #cc-rating, #cc-stars (buttons [data-rating="1".."5"]), #cc-skip
 *   end:       #cc-end, #cc-message[data-outcome], #cc-again, #cc-done
 *   callback (callback.js): #cc-cb-offer (#cc-cb-ask) and #cc-cb-form in the queued view;
 *              #cc-callback with #cc-cb-status, #cc-cb-detail, #cc-cb-ring (#cc-cb-answer,
 *              #cc-cb-decline)
 * States (#cc-panel[data-state], window.callcenterWidget.state): idle, starting, queued, connected,
 *   rating, thanks, ended, callback (waiting to be called back), callback_ringing (the agent rings). Escape closes the panel (while queued or in a call it only folds
 *   away, as #cc-close does then: its glyph is − then, × otherwise).
 *
 * For the business's page (and our tests), once the modules are loaded: window.callcenterWidget =
 *   {state, outcome, callId, position, agentName (who answered), onHold, setupCheck (the last
 *   pre-call check's {ok, checks}), callback ({callId, queue, position, ringing} while a callback
 *   is asked for),
 *   estimatedWait, recorded, recording (true while the SDK's send-only leg to the recorder is open:
 *   the SDK does the recording part by itself, see RECORDING in the SDK), client (the SDK's
 *   CallClient), events: [{name, data, at}], root (shadow root),
 *   open(), close()}.
 */
(function loadCallcenterWidget() {
  'use strict';

  // currentScript is null when the tag was loaded as a module or run later by a tag manager.
  const script = document.currentScript
    || [...document.querySelectorAll('script[src]')].find((s) => /\/widget\/widget\.js(\?|#|$)/.test(s.src));
  if (!script || !script.src) return;

  const data = script.dataset;
  const config = {
    // The server's base: the folder above /widget/ (a sub-path included, behind a proxy).
    server: new URL('../', new URL(script.src, location.href)).href.replace(/\/$/, ''),
    appId: data.app || 'demo',
    queue: data.queue || 'default',
    userId: data.userId || null,
    userSig: data.userSig || null,
    type: data.type === 'audio' ? 'audio' : 'video',
    language: data.language || (navigator.language || ''),
    label: data.label || 'Call us',
    title: data.title || 'Talk to us',
    position: data.position === 'left' ? 'left' : 'right',
  };
  // The modules beside this file, whatever path the server put it under.
  import(new URL('panel.js', script.src).href)
    .then((panel) => panel.mountWidget(config))
    .catch((err) => console.error('[callcenter] the call widget could not be loaded', err));
}());
