// The widget's markup, inside its shadow root: constant, nothing from a person goes in here (names
// and messages are set with textContent afterwards). The ids are the widget's documented ones
// (widget.js); the call's buttons are made in #cc-controls by /ui/call-controls.js.

export const PANEL_HTML = `
<div class="wrap" part="wrap">
  <div class="panel" id="cc-panel" role="dialog" aria-labelledby="cc-title" data-state="idle" hidden>
    <div class="head"><h2 id="cc-title"></h2><button class="close" id="cc-close" type="button" aria-label="Minimise">&#x2212;</button></div>
    <div class="body">
      <form id="cc-form" autocomplete="on">
        <div class="body" style="padding:0">
          <label>Your name (optional)<input type="text" id="cc-name" name="name" maxlength="64" autocomplete="name"></label>
          <label>What is it about? (optional)<input type="text" id="cc-topic" name="topic" maxlength="200"></label>
          <fieldset><legend>Call with</legend>
            <label class="choice"><input type="radio" name="cc-type" id="cc-type-video" value="video"> Video</label>
            <label class="choice"><input type="radio" name="cc-type" id="cc-type-audio" value="audio"> Audio only</label>
          </fieldset>
          <button class="primary" id="cc-start" type="submit">Start call</button>
          <button class="link" id="cc-check" type="button">Test my microphone and connection</button>
        </div>
      </form>
      <div id="cc-check-panel" class="check" hidden>
        <p id="cc-check-summary" role="status"></p>
        <video class="preview" id="cc-check-preview" hidden muted playsinline></video>
        <ul id="cc-check-list" class="checks"></ul>
        <div class="row">
          <button class="secondary" id="cc-check-sound" type="button">Play a test sound</button>
          <button class="secondary" id="cc-check-again" type="button">Check again</button>
          <button class="secondary" id="cc-check-close" type="button">Close</button>
        </div>
      </div>
      <div id="cc-starting" hidden><div class="spinner"></div><p class="muted" id="cc-progress"></p></div>
      <div id="cc-queued" hidden>
        <div class="body" style="padding:0">
          <video class="preview" id="cc-preview-slot" hidden muted playsinline autoplay></video>
          <p class="big" id="cc-position"></p>
          <p class="muted" id="cc-wait"></p>
          <p class="muted" id="cc-recorded" hidden>This call will be recorded.</p>
          <div class="row"><button class="secondary" id="cc-cancel" type="button">Cancel</button></div>
        </div>
      </div>
      <div id="cc-call" hidden>
        <div class="body" style="padding:0">
          <div class="media">
            <div class="remote" id="cc-remote"></div>
            <div class="audio-only" id="cc-audio-only" hidden>Audio call</div>
            <video class="local" id="cc-local" muted playsinline autoplay></video>
            <span class="timer" id="cc-timer">00:00</span>
            <span class="rec" id="cc-rec" title="This call is being recorded" hidden>REC</span>
          </div>
          <p class="agent-name" id="cc-agent" hidden></p>
          <p class="muted" id="cc-link" role="status" hidden></p>
          <p class="muted" id="cc-unheard" role="status" hidden></p>
          <p class="muted" id="cc-hold" role="status" hidden></p>
          <div class="row" id="cc-controls"></div>
        </div>
      </div>
      <div id="cc-rating" hidden>
        <div class="body" style="padding:0">
          <p class="big">How was your call?</p>
          <div class="stars" id="cc-stars" role="group" aria-label="Rating">
            <button type="button" data-rating="1" aria-label="1 star">&#9733;</button>
            <button type="button" data-rating="2" aria-label="2 stars">&#9733;</button>
            <button type="button" data-rating="3" aria-label="3 stars">&#9733;</button>
            <button type="button" data-rating="4" aria-label="4 stars">&#9733;</button>
            <button type="button" data-rating="5" aria-label="5 stars">&#9733;</button>
          </div>
          <div class="row"><button class="secondary" id="cc-skip" type="button">Skip</button></div>
        </div>
      </div>
      <div id="cc-end" hidden>
        <div class="body" style="padding:0">
          <p class="message" id="cc-message" data-outcome=""></p>
          <div class="row">
            <button class="primary" id="cc-again" type="button">Call again</button>
            <button class="secondary" id="cc-done" type="button">Close</button>
          </div>
        </div>
      </div>
    </div>
  </div>
  <button class="launcher" id="cc-launcher" type="button" aria-expanded="false">
    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z"/></svg>
    <span id="cc-launcher-label"></span>
  </button>
</div>`;
