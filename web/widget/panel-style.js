// The widget's look, inside its shadow root. Its own, not /ui/base.css: that sheet styles a whole
// page (:root colours, body, header, main) in rem, which on a business's page follow that page's
// root font size; the widget must look the same on any page and resets everything it inherits
// (`all: initial` on the host), so it sizes in px. `position` is the corner: 'right' or 'left'.

export function panelStyle(position) {
  const left = position === 'left';
  const side = left ? 'left' : 'right';
  return `
:host {
  all: initial !important;
  position: fixed !important; z-index: 2147483000 !important; bottom: 20px !important;
  ${side}: 20px !important; display: block !important;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif !important;
  font-size: 14px !important; line-height: 1.4 !important; color: #1d2330 !important;
}
* { box-sizing: border-box; font: inherit; color: inherit; }
[hidden] { display: none !important; }
.launcher {
  display: flex; align-items: center; gap: 8px; margin-${left ? 'right' : 'left'}: auto;
  padding: 12px 18px; border: 0; border-radius: 999px; background: #2563eb; color: #fff;
  font-weight: 600; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25);
}
.launcher:hover { background: #1d4ed8; }
.launcher svg { width: 20px; height: 20px; fill: currentColor; }
.launcher[data-busy="true"] { background: #15803d; } /* white on it: 5.0:1 */
.wrap { display: flex; flex-direction: column; align-items: ${left ? 'flex-start' : 'flex-end'}; gap: 12px; }
.panel {
  width: 340px; max-width: calc(100vw - 40px); max-height: calc(100vh - 110px); overflow: auto;
  background: #fff; border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.3);
  border: 1px solid #d9dde5;
}
.head { display: flex; align-items: center; justify-content: space-between; padding: 12px 14px;
  background: #2563eb; color: #fff; border-radius: 14px 14px 0 0; }
.head h2 { margin: 0; font-size: 16px; font-weight: 600; color: #fff; }
.close { border: 0; background: transparent; color: #fff; font-size: 20px; line-height: 1; cursor: pointer; padding: 2px 6px; }
.body { padding: 14px; display: flex; flex-direction: column; gap: 10px; }
label { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: #475467; }
input[type="text"] { padding: 8px 10px; border: 1px solid #d9dde5; border-radius: 8px; background: #fff; color: #1d2330; width: 100%; }
input[type="text"]:focus { outline: 2px solid #93c5fd; border-color: #2563eb; }
fieldset { border: 0; margin: 0; padding: 0; display: flex; gap: 8px; }
fieldset legend { font-size: 13px; color: #475467; margin-bottom: 4px; padding: 0; }
.choice { flex: 1; flex-direction: row; align-items: center; justify-content: center; gap: 6px;
  padding: 8px; border: 1px solid #d9dde5; border-radius: 8px; cursor: pointer; color: #1d2330; }
.choice:has(input:checked) { border-color: #2563eb; background: #eff4ff; }
button.primary, button.secondary, button.danger {
  padding: 9px 14px; border-radius: 8px; border: 1px solid #2563eb; cursor: pointer; font-weight: 600;
}
button.primary { background: #2563eb; color: #fff; }
button.secondary { background: #fff; color: #2563eb; }
button.danger { background: #dc2626; border-color: #dc2626; color: #fff; }
button:disabled { opacity: .5; cursor: default; }
button[aria-pressed="true"] { background: #fde68a; border-color: #d97706; color: #1d2330; }
.row { display: flex; gap: 8px; justify-content: center; flex-wrap: wrap; }
.big { font-size: 18px; font-weight: 600; text-align: center; margin: 0; }
.muted { color: #667085; text-align: center; margin: 0; }
.spinner { width: 28px; height: 28px; margin: 4px auto; border-radius: 50%;
  border: 3px solid #dbe4ff; border-top-color: #2563eb; animation: spin 1s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
.media { position: relative; background: #111827; border-radius: 10px; overflow: hidden; aspect-ratio: 4 / 3; }
.media .remote, .media .remote video { width: 100%; height: 100%; display: block; object-fit: cover; }
.media .audio-only { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
  color: #e5e7eb; font-size: 15px; }
.media .local { position: absolute; right: 8px; bottom: 8px; width: 30%; aspect-ratio: 4 / 3;
  object-fit: cover; border-radius: 6px; border: 2px solid rgba(255,255,255,.7); background: #374151; }
.media .timer { position: absolute; left: 8px; top: 8px; padding: 2px 8px; border-radius: 6px;
  background: rgba(0,0,0,.55); color: #fff; font-variant-numeric: tabular-nums; font-size: 13px; }
.media .rec { position: absolute; right: 8px; top: 8px; padding: 2px 8px; border-radius: 6px;
  background: #dc2626; color: #fff; font-size: 12px; font-weight: 700; }
.preview { width: 120px; aspect-ratio: 4 / 3; object-fit: cover; border-radius: 8px; margin: 0 auto; display: block; background: #374151; }
.stars { display: flex; justify-content: center; gap: 4px; }
.stars button { border: 0; background: transparent; font-size: 32px; line-height: 1; color: #d1d5db; cursor: pointer; padding: 2px; }
.stars button.on { color: #f59e0b; }
.agent-name { text-align: center; margin: 8px 0 0; font-weight: 600; }
.message { text-align: center; margin: 0; }
.message[data-kind="error"] { color: #b42318; }
button.link { border: 0; background: transparent; color: inherit; text-decoration: underline; cursor: pointer; padding: 4px 0; font: inherit; }
.check { margin-top: 8px; }
.checks { list-style: none; padding: 0; margin: 8px 0; display: grid; gap: 6px; }
.checks li[data-ok="false"] strong { color: #b42318; }
.checks li[data-ok="true"] strong { color: #15803d; }
.checks .advice { margin: 2px 0 0; }
`;
}
