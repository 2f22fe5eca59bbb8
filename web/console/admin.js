// The console's Admin section, for the app's admins (the login answer's `admin`): the app's
// agents, queues, supervisors, dispositions and break reasons, listed and changed through the
// admin API (docs/protocol.md, "The admin API"), and its audit log. The server checks every
// change and answers a refusal with the field at fault: the message goes beside that field.
// Everything from the server goes in through textContent, never innerHTML.

import { addCell } from './table-cell.js';
import { at } from '../ui/base.js';
import { fetchJSON } from '../ui/json-api.js';
import { clockTime } from '../ui/time.js';

const $ = (id) => document.getElementById(id);

// The settings of each kind, as the API names them (docs/config.md has what each means).
// type: text | password | number (empty: unset) | list (comma-separated) | map (k=v, ...) |
// bool | choice. `fixed`: the item's key, set only when it is created.
const ID = { key: 'id', label: 'Id', type: 'text', fixed: true, hint: 'letters, digits, _ and -' };
const NAME = { key: 'name', label: 'Name', type: 'text' };
const PASSWORD = {
  key: 'password', label: 'Password', type: 'password',
  hint: 'at least 10 characters; leave empty to keep the current one',
};
const CODE = [{ key: 'code', label: 'Code', type: 'text', fixed: true }, { key: 'label', label: 'Label', type: 'text' }];
const NUMBER = (key, label) => ({ key, label, type: 'number' });
const KINDS = {
  agents: {
    key: 'id', columns: ['id', 'name', 'queues'],
    fields: [ID, NAME, PASSWORD, { key: 'queues', label: 'Queues', type: 'list', hint: 'comma-separated queue names' },
      { key: 'skills', label: 'Skills', type: 'map', hint: 'skill=level (1–100), comma-separated' }],
  },
  queues: {
    key: 'name', columns: ['name', 'strategy', 'members'],
    fields: [
      { key: 'name', label: 'Name', type: 'text', fixed: true },
      { key: 'members', label: 'Members', type: 'list', hint: 'the agents serving it, comma-separated' },
      { key: 'strategy', label: 'Strategy', type: 'text' },
      { key: 'queueing', label: 'Queueing', type: 'text' },
      NUMBER('ring_timeout', 'Ring timeout (s)'), NUMBER('wrap_up', 'Wrap-up (s)'),
      NUMBER('max_wait', 'Longest wait (s)'), NUMBER('max_length', 'Most calls waiting'),
      { key: 'when_empty', label: 'When no agent is logged in', type: 'choice', choices: ['refuse', 'join'] },
      { key: 'overflow', label: 'Overflow queue', type: 'text', nullable: true, hint: 'empty: none' },
      { key: 'required_skills', label: 'Required skills', type: 'map', hint: 'skill=level, comma-separated' },
      NUMBER('max_no_answer', 'Missed offers before a break'), NUMBER('reject_delay', 'Reject delay (s)'),
      { ...NUMBER('wait_alert', 'Long-wait alert (s)'), nullable: true, hint: 'empty: none' },
      { key: 'hold_music', label: 'Hold music', type: 'text', nullable: true, hint: 'a URL; empty: the app\'s' },
      { key: 'transfer_fallback', label: 'A transfer not taken goes', type: 'choice', choices: ['agent', 'queue'] },
      { ...NUMBER('callback_after', 'Offer a callback after (s of estimated wait)'), nullable: true, hint: 'empty: never' },
      NUMBER('callback_ring_timeout', 'Callback: ring the customer (s)'),
      NUMBER('callback_retry_delay', 'Callback: try again after (s)'),
      NUMBER('callback_attempts', 'Callback: tries before unreachable'),
    ],
  },
  supervisors: {
    key: 'id', columns: ['id', 'name', 'admin'],
    fields: [ID, NAME, PASSWORD, { key: 'admin', label: 'Admin (may change these settings)', type: 'bool' }],
  },
  dispositions: { key: 'code', columns: ['code', 'label'], fields: CODE },
  'break-reasons': { key: 'code', columns: ['code', 'label'], fields: CODE },
};

/** The text a setting's value shows as, in a table cell or an input. */
function shown(field, value) {
  if (value === null || value === undefined) return '';
  if (field.type === 'list') return value.join(', ');
  if (field.type === 'map') return Object.entries(value).map(([k, v]) => `${k}=${v}`).join(', ');
  if (field.type === 'bool') return value ? 'yes' : 'no';
  return String(value);
}

/** The value an input holds, as the API takes it; `undefined`: leave the setting as it is. */
function read(field, input) {
  const text = input.value.trim();
  switch (field.type) {
    case 'bool': return input.checked;
    case 'password': return text === '' ? undefined : input.value;
    case 'list': return text === '' ? [] : text.split(',').map((s) => s.trim()).filter(Boolean);
    case 'map': {
      const map = {};
      for (const pair of text.split(',').map((s) => s.trim()).filter(Boolean)) {
        const [k, v] = pair.split('=').map((s) => s.trim());
        // Not a number: sent as it is, and the server names the field.
        map[k] = v !== undefined && /^\d+$/.test(v) ? Number(v) : v;
      }
      return map;
    }
    case 'number':
      if (text === '') return field.nullable ? null : undefined;
      return /^-?\d+$/.test(text) ? Number(text) : text;
    default:
      return text === '' && field.nullable ? null : text;
  }
}

export class AdminView {
  /** @param {string} userSig the admin's supervisor credential */
  constructor(userSig) {
    this.userSig = userSig;
    this.el = {
      root: $('admin'), kind: $('ad-kind'), head: $('ad-items-head'), body: $('ad-items-body'),
      add: $('ad-new'), form: $('ad-form'), formTitle: $('ad-form-title'), fields: $('ad-fields'),
      formError: $('ad-form-error'), saved: $('ad-saved'), save: $('ad-save'),
      auditBody: $('ad-audit-body'), auditRefresh: $('ad-audit-refresh'),
    };
    this.state = { kind: 'agents', items: [], editing: null, audit: [] };
    window.adminView = this.state;
    this.inputs = new Map();
    this.listeners = [];
  }

  listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.listeners.push([target, type, fn]);
  }

  api(path, init = {}) {
    return fetchJSON(at(`/api/admin/${path}`), { userSig: this.userSig, ...init });
  }

  async start() {
    this.el.root.hidden = false;
    this.listen(this.el.kind, 'change', () => this.show(this.el.kind.value));
    this.listen(this.el.add, 'click', () => this.edit(null));
    this.listen(this.el.form, 'submit', (ev) => { ev.preventDefault(); this.save(); });
    this.listen(this.el.auditRefresh, 'click', () => this.refreshAudit());
    await this.show(this.el.kind.value);
    await this.refreshAudit();
  }

  stop() {
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
    this.listeners = [];
    this.el.root.hidden = true;
    this.el.body.replaceChildren();
    this.el.auditBody.replaceChildren();
  }

  async show(kind) {
    this.state.kind = kind;
    const spec = KINDS[kind];
    const tr = document.createElement('tr');
    for (const column of spec.columns) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = spec.fields.find((f) => f.key === column).label;
      tr.append(th);
    }
    const actions = document.createElement('th');
    actions.scope = 'col';
    actions.textContent = 'Change';
    tr.append(actions);
    this.el.head.replaceChildren(tr);
    this.edit(null);
    await this.refresh();
  }

  async refresh() {
    const kind = this.state.kind;
    try {
      const answer = await this.api(kind);
      if (kind !== this.state.kind) return; // another kind was chosen meanwhile
      this.state.items = answer.items;
      this.renderItems();
    } catch (err) {
      this.el.formError.textContent = `Could not load the ${kind}: ${err.message}`;
    }
  }

  renderItems() {
    const spec = KINDS[this.state.kind];
    const rows = this.state.items.map((item) => {
      const tr = document.createElement('tr');
      const key = item[spec.key];
      tr.dataset.key = key;
      for (const column of spec.columns) {
        addCell(tr, `ad-${column}`, shown(spec.fields.find((f) => f.key === column), item[column]));
      }
      const td = addCell(tr, 'ad-actions', '');
      td.append(this.button('Edit', `Edit ${key}`, 'ad-edit', () => this.edit(item)),
        ' ', this.button('Delete', `Delete ${key}`, 'ad-delete', () => this.remove(key)));
      return tr;
    });
    this.el.body.replaceChildren(...rows);
  }

  button(text, label, cls, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `secondary small ${cls}`;
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.addEventListener('click', onClick);
    return b;
  }

  /** Fills the form with `item` to change it, or empties it for a new one (null). */
  edit(item) {
    const spec = KINDS[this.state.kind];
    this.state.editing = item ? item[spec.key] : null;
    this.el.formTitle.textContent = item ? `Change ${item[spec.key]}` : 'New';
    this.el.formError.textContent = '';
    this.el.saved.textContent = '';
    this.inputs.clear();
    const parts = [];
    for (const field of spec.fields) {
      const id = `ad-f-${field.key}`;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = field.label;
      let input;
      if (field.type === 'choice') {
        input = document.createElement('select');
        for (const choice of field.choices) input.append(new Option(choice, choice));
      } else {
        input = document.createElement('input');
        input.type = { password: 'password', bool: 'checkbox', number: 'text' }[field.type] || 'text';
        if (field.type === 'number') input.inputMode = 'numeric';
        if (field.type === 'password') input.autocomplete = 'new-password';
      }
      input.id = id;
      const value = item ? item[field.key] : undefined;
      if (field.type === 'bool') input.checked = Boolean(value);
      else if (field.type !== 'password' && value !== undefined) input.value = shown(field, value);
      if (field.fixed && item) input.readOnly = true;
      const error = document.createElement('span');
      error.id = `ad-err-${field.key}`;
      error.className = 'field-error';
      const described = [error.id];
      if (field.hint) {
        const hint = document.createElement('span');
        hint.id = `ad-hint-${field.key}`;
        hint.className = 'hint muted';
        hint.textContent = field.hint;
        described.unshift(hint.id);
        parts.push(label, input, hint, error);
      } else {
        parts.push(label, input, error);
      }
      input.setAttribute('aria-describedby', described.join(' '));
      this.inputs.set(field.key, { field, input, error });
    }
    this.el.fields.replaceChildren(...parts);
  }

  /** What the form sends: every setting it holds (a new item), or those that differ. */
  body() {
    const body = {};
    const before = this.state.items.find((i) => i[KINDS[this.state.kind].key] === this.state.editing);
    for (const [key, { field, input }] of this.inputs) {
      const value = read(field, input);
      if (value === undefined) continue;
      if (before && (field.fixed || JSON.stringify(before[key]) === JSON.stringify(value))) continue;
      if (!before && value === '' && !field.fixed) continue; // left to its default
      body[key] = value;
    }
    return body;
  }

  clearErrors() {
    this.el.formError.textContent = '';
    this.el.saved.textContent = '';
    for (const { input, error } of this.inputs.values()) {
      error.textContent = '';
      input.removeAttribute('aria-invalid');
    }
  }

  /** The API's refusal beside the field it names (`members[1]` and `skills.en` are members' and
   * skills'), or above the button when it names none of the form's. */
  showError(err) {
    const name = (err.field || '').split(/[.[]/)[0];
    const target = this.inputs.get(name);
    if (target) {
      target.error.textContent = err.message;
      target.input.setAttribute('aria-invalid', 'true');
      target.input.focus();
    }
    this.el.formError.textContent = target ? 'Not saved: see the field above.' : `Not saved: ${err.message}`;
  }

  async save() {
    this.clearErrors();
    const kind = this.state.kind;
    const editing = this.state.editing;
    this.el.save.disabled = true;
    try {
      const path = editing === null ? kind : `${kind}/${encodeURIComponent(editing)}`;
      const answer = await this.api(path, { method: editing === null ? 'POST' : 'PATCH', body: this.body() });
      await this.refresh();
      const key = answer.item[KINDS[kind].key];
      this.edit(this.state.items.find((i) => i[KINDS[kind].key] === key) || null);
      this.el.saved.textContent = `Saved ${key}.`;
      await this.refreshAudit();
    } catch (err) {
      this.showError(err);
    } finally {
      this.el.save.disabled = false;
    }
  }

  async remove(key) {
    if (!window.confirm(`Delete ${key}?`)) return;
    this.clearErrors();
    try {
      await this.api(`${this.state.kind}/${encodeURIComponent(key)}`, { method: 'DELETE' });
      this.edit(null);
      this.el.saved.textContent = `Deleted ${key}.`;
      await this.refresh();
      await this.refreshAudit();
    } catch (err) {
      this.el.formError.textContent = `Not deleted: ${err.message}`;
    }
  }

  async refreshAudit() {
    try {
      this.state.audit = (await this.api('audit?limit=50')).entries;
    } catch (err) {
      this.el.formError.textContent = `Could not load the audit log: ${err.message}`;
      return;
    }
    this.el.auditBody.replaceChildren(...this.state.audit.map((e) => {
      const tr = document.createElement('tr');
      tr.dataset.id = String(e.id);
      addCell(tr, 'au-at', clockTime(e.at, true));
      addCell(tr, 'au-actor', e.actor);
      addCell(tr, 'au-what', `${e.action} ${e.kind.replace('_', ' ')} ${e.target}`);
      addCell(tr, 'au-before diff', e.before ? changes(e.before, e.after) : '');
      addCell(tr, 'au-after diff', e.after ? changes(e.after, e.before) : '');
      return tr;
    }));
  }
}

/** The keys of `side` that differ from `other` (all of them when there is no other), k: v. */
function changes(side, other) {
  return Object.entries(side)
    .filter(([k, v]) => !other || JSON.stringify(other[k]) !== JSON.stringify(v))
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n');
}
