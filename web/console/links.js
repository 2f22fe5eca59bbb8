// Signed links. What the browser loads by URL itself (an <audio src>, a download) cannot send the
// Authorization header, and a credential put in a URL lands in server logs and browser history.
// Instead the server signs a URL for that one resource, valid a few minutes (POST /api/links,
// docs/protocol.md "HTTP endpoints"). A player that reads on after its link expired asks for a
// new one and goes on where it was.
import { at } from '../ui/base.js';
import { fetchJSON } from '../ui/json-api.js';

/** A URL for one resource `path`, signed for the holder of `userSig`: `{url, expiresAt}`. */
export function signedLink(path, userSig) {
  // `path` is the server's own (signed as such); what the browser loads goes through `at`.
  return fetchJSON(at('/api/links'), { userSig, body: { path } });
}

/**
 * Points `audio` at the resource `path` through a signed link. `currentSig()` gives the
 * credential to ask with (null once signed out). When the element fails after its link expired
 * (a long pause, then play: the next Range request is refused), a fresh link is asked for and
 * playback resumes at the same position. Resolves once the first link is set.
 */
export async function playThroughLinks(audio, path, currentSig) {
  let expiresAt = 0;
  const load = async (resumeAt, play) => {
    const userSig = currentSig();
    if (!userSig) return;
    const link = await signedLink(path, userSig);
    expiresAt = link.expiresAt;
    if (resumeAt > 0 || play) {
      audio.addEventListener('loadedmetadata', () => {
        audio.currentTime = resumeAt;
        if (play) audio.play().catch(() => { /* no user gesture: leave it paused */ });
      }, { once: true });
    }
    audio.src = at(link.url);
  };
  audio.addEventListener('error', () => {
    // A src removed on purpose, or an error while the link is still good: nothing to renew.
    if (!audio.getAttribute('src') || Date.now() / 1000 < expiresAt - 5) return;
    load(audio.currentTime, !audio.paused).catch(() => { /* the element shows its error */ });
  });
  await load(0, false);
}

/**
 * Downloads the resource `path` as `filename` through a signed link: for a download link whose
 * own href holds no credential (its click handler prevents the default and calls this).
 */
export async function downloadThroughLink(path, filename, userSig) {
  const link = await signedLink(path, userSig);
  const a = document.createElement('a');
  a.href = at(link.url);
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}
