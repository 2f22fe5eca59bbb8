// Durations and clock times as every page shows them.

/** Seconds as mm:ss, or h:mm:ss from an hour on; missing or negative counts as 0. */
export function mmss(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** An epoch time (s) as this browser's local clock time, hh:mm (hh:mm:ss with `withSeconds`). */
export function clockTime(epoch, withSeconds = false) {
  const opts = { hour: '2-digit', minute: '2-digit' };
  if (withSeconds) opts.second = '2-digit';
  return new Date(epoch * 1000).toLocaleTimeString([], opts);
}

/** This browser's clock in epoch seconds, the unit of every time the server sends. */
export function nowSeconds() {
  return Date.now() / 1000;
}
