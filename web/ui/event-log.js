// What a page saw happen, as {name, data, at} in an array the page exposes on a global
// (window.agentConsole.events, window.callcenterWidget.events, window.demo.events,
// window.supervisorView.events). The browser tests read these to follow a page; a developer can
// read them in the browser's console. Nothing in the pages themselves reads them back.

/** A function `(name, data)` that appends to `events`, dropping the oldest beyond `keep`. */
export function eventLog(events, keep = 1000) {
  return (name, data) => {
    events.push({ name, data: data === undefined ? null : data, at: Date.now() });
    if (events.length > keep) events.shift();
  };
}

/** Logs every event the SDK's `client` emits, under the event's name. */
export function logClientEvents(client, log) {
  for (const name of Object.values(client.EVENT)) client.on(name, (data) => log(name, data));
}
