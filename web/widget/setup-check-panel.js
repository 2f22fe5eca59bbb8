// The widget's "Test my microphone and connection" (the pre-call check, ../ui/setup-check.js),
// before a call: it signs the customer in if needed (the STUN/TURN checks use the session's
// servers; the call then starts on that session), runs the check, and says what to do.

import { SetupCheck } from '../ui/setup-check.js';

/**
 * @param {(id: string) => Element} $ finds an element of the widget's shadow root
 * @param {{signedIn: Function, video: Function, soundUrl: string, onRun?: Function}} deps
 *   signedIn(): a logged-in CallClient; video(): whether a video call is chosen
 */
export function wireSetupCheck($, { signedIn, video, soundUrl, onRun = () => {} }) {
  const panel = $('cc-check-panel');
  let client = null;
  const check = new SetupCheck(
    { list: $('cc-check-list'), summary: $('cc-check-summary'), preview: $('cc-check-preview'),
      sound: $('cc-check-sound') },
    { client: () => client, video, soundUrl },
  );
  const run = async () => {
    panel.hidden = false;
    $('cc-check-summary').textContent = 'Connecting…';
    try {
      client = await signedIn();
    } catch (err) {
      $('cc-check-summary').textContent = `We could not reach our call service (${err.code || err.message || err}).`;
      $('cc-check-summary').dataset.state = 'failed';
      return;
    }
    onRun(await check.run());
  };
  $('cc-check').addEventListener('click', run);
  $('cc-check-again').addEventListener('click', run);
  $('cc-check-close').addEventListener('click', () => { panel.hidden = true; });
  return check;
}
