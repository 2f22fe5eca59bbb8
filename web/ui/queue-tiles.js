// Queue tiles, as the agent's workspace and the supervisor view show them: one
// div.queue-tile[data-queue] per queue with its name, the calls waiting (span.<prefix>-waiting,
// also data-waiting) and the longest wait (span.<prefix>-longest, mm:ss, counting on between
// updates), then the lines the page adds. Queue names go in as text.
import { mmss, nowSeconds } from './time.js';

export class QueueTiles {
  /**
   * @param {Element} container where the tiles go
   * @param {{prefix: string, tileClass?: string, lines?: object[], data?: Function, title?: Function}} options
   *   prefix: of the class names of the numbers ('q' gives .q-waiting, .q-longest);
   *   tileClass: more classes for each tile;
   *   lines: further lines, each {cls, value(q), label?, unit?}: span.<cls> holds value(q), after the
   *     text `label`; `unit` (text, or q => text) follows in span.<cls>-label;
   *   data(q): more data-* attributes for the tile; title(q): its tooltip.
   */
  constructor(container, { prefix, tileClass = '', lines = [], data, title }) {
    this.container = container;
    this.prefix = prefix;
    this.tileClass = tileClass;
    this.lines = lines;
    this.data = data;
    this.title = title;
  }

  /** Shows `queues` (the full list: tiles of queues not in it are removed). */
  render(queues) {
    const seen = new Set();
    for (const q of queues) {
      seen.add(q.name);
      const tile = this.tile(q.name) || this.add(q.name);
      const waiting = String(q.waiting ?? 0);
      Object.assign(tile.dataset, {
        waiting, longestWait: String(q.longestWait ?? 0), seenAt: String(nowSeconds()),
      }, this.data ? this.data(q) : {});
      tile.querySelector(`.${this.prefix}-waiting`).textContent = waiting;
      for (const line of this.lines) {
        tile.querySelector(`.${line.cls}`).textContent = String(line.value(q));
        if (typeof line.unit === 'function') tile.querySelector(`.${line.cls}-label`).textContent = line.unit(q);
      }
      if (this.title) tile.title = this.title(q);
    }
    for (const tile of this.container.querySelectorAll('.queue-tile')) {
      if (!seen.has(tile.dataset.queue)) tile.remove();
    }
    this.tick();
  }

  /**
   * Counts the longest waits on. `longestOf(queue)` may know better (seconds, or null): the
   * pushed figure is counted on from when it came.
   */
  tick(longestOf = () => null) {
    const now = nowSeconds();
    for (const tile of this.container.querySelectorAll('.queue-tile')) {
      const { waiting, longestWait, seenAt, queue } = tile.dataset;
      const longest = longestOf(queue) ?? Number(longestWait || 0) + (now - Number(seenAt || now));
      tile.querySelector(`.${this.prefix}-longest`).textContent = Number(waiting || 0) > 0 ? mmss(longest) : '—';
    }
  }

  tile(name) {
    return this.container.querySelector(`.queue-tile[data-queue="${CSS.escape(name)}"]`);
  }

  add(name) {
    const tile = document.createElement('div');
    tile.className = `queue-tile ${this.tileClass}`.trim();
    tile.dataset.queue = name;
    const h = document.createElement('h3');
    h.textContent = name;
    tile.append(h,
      line(`big ${this.prefix}-waiting`, '', ' waiting', false),
      line(`${this.prefix}-longest`, 'longest wait ', '', true));
    for (const { cls, label = '', unit = '' } of this.lines) {
      const div = line(cls, label, typeof unit === 'string' ? unit : '', true);
      if (typeof unit === 'function') {
        const span = document.createElement('span');
        span.className = `${cls}-label`;
        div.append(span);
      }
      tile.append(div);
    }
    this.container.append(tile);
    return tile;
  }
}

/** One line of a tile: `label`, span.<cls>, `unit`; a small one in muted print. */
function line(cls, label, unit, small) {
  const div = document.createElement('div');
  if (small) div.className = 'small';
  const span = document.createElement('span');
  span.className = cls;
  div.append(...[label, span, unit].filter((part) => part !== ''));
  return div;
}
