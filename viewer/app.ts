/**
 * The viewer's page: connect (server, log, API key, pinned keys), search with every filter of
 * the query API, the three questions, an entry with its proof checked here, the log with its
 * checkpoint and growth, a whole verification in a worker, and offline bundles.
 */
import type { BundleHeader } from '../src/core/bundle.ts';
import { fromBase64, fromHex, toHex } from '../src/core/bytes.ts';
import { type Entry, entryLeafHash } from '../src/core/event/entry.ts';
import { ENTRY_JSON_FIELDS, ENTRY_TEXT_FIELDS } from '../src/core/event/vocabulary.ts';
import { verifyConsistency, verifyInclusion } from '../src/core/merkle/verify.ts';
import type { VerifyReport } from '../src/core/verify/report.ts';
import { Api, ApiError } from './api.ts';
import { growthChart } from './chart.ts';
import { $, clear, h } from './dom.ts';
import { store } from './storage.ts';
import {
  type CheckedCheckpoint,
  checkCheckpoint,
  type Pins,
  reconcile,
  TrustFailure,
  type Verifiers,
  verifiersOf,
} from './trust.ts';
import { runVerification, type WorkerMessage, type WorkerRequest } from './worker.ts';

let api: Api | undefined;
let verifiers: Verifiers | undefined;
let pins: Pins = { logKeys: [], witnessKeys: [] };
let current: CheckedCheckpoint | undefined;
let failure: TrustFailure | undefined;
let scriptText = '';

const VIEWS = ['connect', 'search', 'entry', 'log', 'bundle'] as const;
type View = (typeof VIEWS)[number];

function show(view: View, focus = true): void {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button')) {
    if (b.dataset['view'] === view) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  document.body.dataset['view'] = view;
  if (focus) $(`h-${view}`).focus();
}

// ---------------------------------------------------------------- trust state

function setTrust(text: string, state: 'ok' | 'bad' | ''): void {
  const t = $('trust');
  t.textContent = text;
  t.className = state;
}

/** Evidence against the log: a red banner that stays until the next successful connect. */
function raise(f: TrustFailure): void {
  failure = f;
  const a = $('alarm');
  a.hidden = false;
  a.dataset['kind'] = f.kind;
  a.dataset['index'] = f.index === null ? '' : String(f.index);
  clear(
    a,
    h('h2', {}, `VERIFICATION FAILED: ${f.kind.replace('-', ' ')}`),
    h('p', {}, f.message),
    f.index === null ? null : h('p', {}, `First bad index: ${f.index}`),
    h('p', {}, 'Do not rely on what this server shows. Keep this page open and report it.'),
  );
  setTrust(`FAILED: ${f.kind}`, 'bad');
}

function clearAlarm(): void {
  failure = undefined;
  const a = $('alarm');
  a.hidden = true;
  a.removeAttribute('data-kind');
  a.replaceChildren();
}

function errorBox(e: unknown, index: number | null = null): HTMLElement {
  // The server's own integrity alarm (docs/http-api.md, TAMPER_DETECTED): evidence too.
  if (e instanceof ApiError && e.code === 'TAMPER_DETECTED') {
    return errorBox(
      new TrustFailure(
        'server-alarm',
        `The server reports its own log damaged and refuses to answer: ${e.message}`,
        index,
      ),
    );
  }
  if (e instanceof TrustFailure) {
    raise(e);
    return h('div', { class: 'bad-box', 'data-state': 'failed' }, e.message);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return h('div', { class: 'err-box', 'data-state': 'error' }, msg);
}

async function consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
  const p = await requireApi().json<{ hashes: string[] }>('/proof/consistency', { from, to });
  return p.hashes.map((x) => fromBase64(x, 32));
}

/** Verifies a checkpoint note and proves it consistent with the one remembered; remembers the larger. */
async function acceptCheckpoint(note: string, latest: boolean): Promise<CheckedCheckpoint> {
  if (!verifiers) throw new Error('pin the log verifier key first');
  const cp = checkCheckpoint(note, verifiers, current?.origin);
  const remembered = store.remembered(cp.origin);
  const r = await reconcile(cp, remembered, latest, consistencyProof);
  if (r === 'first' || r === 'grew') {
    store.remember(cp.origin, { size: cp.size, root: cp.root, note: cp.note, at: new Date().toISOString() });
  }
  store.addHistory(cp.origin, cp.size);
  if (!current || cp.size >= current.size) current = cp;
  return cp;
}

function requireApi(): Api {
  if (!api) throw new Error('connect first');
  return api;
}

// ---------------------------------------------------------------- connect

function readPins(): Pins {
  const split = (s: string) =>
    s
      .split('\n')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  return {
    logKeys: split($<HTMLTextAreaElement>('vkey').value),
    witnessKeys: split($<HTMLTextAreaElement>('witnesses').value),
    quorum: readQuorum(),
  };
}

/** The quorum field: empty = all pinned witnesses (undefined); otherwise a whole number. */
function readQuorum(): number | undefined {
  const v = $<HTMLInputElement>('quorum').value.trim();
  if (v === '') return undefined;
  if (!/^[0-9]{1,3}$/.test(v)) throw new Error(`the witness quorum must be a whole number, not "${v}"`);
  return Number(v);
}

async function connect(): Promise<void> {
  const out = $('connect-out');
  clear(out, h('p', {}, 'Connecting…'));
  clearAlarm();
  current = undefined;
  try {
    pins = readPins();
    verifiers = verifiersOf(pins);
  } catch (e) {
    clear(out, errorBox(new Error(`a pinned key or the quorum does not parse: ${(e as Error).message}`)));
    return;
  }
  const server = $<HTMLInputElement>('server').value.trim();
  const log = $<HTMLInputElement>('log').value.trim();
  const key = $<HTMLInputElement>('apikey').value.trim();
  store.setLogKeys([...pins.logKeys]);
  store.setWitnessKeys([...pins.witnessKeys]);
  store.setQuorum(pins.quorum ?? null);
  store.setServer(server);
  store.setLog(log);
  store.setApiKey(key);
  api = new Api(server, log, key);
  try {
    const note = await api.text('/checkpoint');
    const cp = await acceptCheckpoint(note, true);
    const remembered = store.remembered(cp.origin)!;
    setTrust(`Verified: ${cp.origin}, size ${cp.size}`, 'ok');
    clear(
      out,
      h(
        'div',
        { class: 'ok-box', 'data-state': 'verified' },
        h('strong', {}, `Checkpoint verified: tree size ${cp.size}. `),
        `Signed by the pinned key ${cp.lines.find((l) => l.status === 'log key: verified')?.name}. `,
        remembered.size === cp.size && remembered.root === cp.root
          ? `This page remembers it (first verified ${remembered.at}).`
          : `Proven to extend the size ${remembered.size} this page verified on ${remembered.at}.`,
      ),
    );
    renderLog();
    show('search');
  } catch (e) {
    clear(out, errorBox(e));
  }
}

// ---------------------------------------------------------------- search

interface SearchState {
  params: Record<string, string>;
  cursors: (string | undefined)[];
  page: number;
}
let search: SearchState | undefined;

const FILTERS = [
  'actor_id',
  'actor_type',
  'action',
  'resource_type',
  'resource_id',
  'ip_address',
  'session_id',
] as const;

function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

function isoToLocal(t: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}T${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

function formParams(): Record<string, string> {
  const form = $<HTMLFormElement>('search-form');
  const p: Record<string, string> = {};
  for (const f of FILTERS) {
    const v = (form.elements.namedItem(f) as HTMLInputElement).value.trim();
    if (v) p[f] = v;
  }
  const results = [...form.querySelectorAll<HTMLInputElement>('input[name=result]:checked')].map(
    (x) => x.value,
  );
  if (results.length) p['result'] = results.join(',');
  const since = localToIso($<HTMLInputElement>('f-since').value);
  const until = localToIso($<HTMLInputElement>('f-until').value);
  if (since) p['since'] = since;
  if (until) p['until'] = until;
  p['limit'] = $<HTMLSelectElement>('f-limit').value;
  return p;
}

function setForm(p: { [k: string]: string | undefined; since?: string }): void {
  const form = $<HTMLFormElement>('search-form');
  form.reset();
  for (const f of FILTERS) (form.elements.namedItem(f) as HTMLInputElement).value = p[f] ?? '';
  for (const c of form.querySelectorAll<HTMLInputElement>('input[name=result]')) {
    c.checked = (p['result'] ?? '').split(',').includes(c.value);
  }
  if (p.since) $<HTMLInputElement>('f-since').value = isoToLocal(new Date(p.since));
}

async function runSearch(params: Record<string, string>, title: string): Promise<void> {
  search = { params, cursors: [undefined], page: 0 };
  await showPage(title);
}

async function showPage(title: string): Promise<void> {
  const out = $('search-out');
  if (!search) return;
  const s = search;
  clear(out, h('p', {}, 'Searching…'));
  try {
    const cursor = s.cursors[s.page];
    const r = await requireApi().json<{ entries: Entry[]; next_cursor: string | null }>('/events', {
      ...s.params,
      cursor,
    });
    if (r.next_cursor && s.cursors.length === s.page + 1) s.cursors.push(r.next_cursor);
    const rows = r.entries.map((e) =>
      h(
        'tr',
        {},
        h(
          'td',
          {},
          h(
            'button',
            { type: 'button', class: 'link', onclick: () => openEntry(String(e.index)) },
            `#${e.index}`,
          ),
        ),
        h('td', {}, e.timestamp ?? ''),
        h('td', {}, `${e.actor_id} (${e.actor_type})`),
        h('td', {}, e.action),
        h('td', {}, `${e.resource_type}/${e.resource_id}`),
        h('td', { class: e.result === 'success' ? '' : 'erased' }, e.result),
        h('td', { class: 'wide' }, e.ip_address ?? ''),
      ),
    );
    const nav = h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          type: 'button',
          id: 'prev-page',
          disabled: s.page === 0,
          onclick: () => {
            s.page--;
            void showPage(title);
          },
        },
        'Previous page',
      ),
      h('span', {}, `Page ${s.page + 1}`),
      h(
        'button',
        {
          type: 'button',
          id: 'next-page',
          disabled: !r.next_cursor,
          onclick: () => {
            s.page++;
            void showPage(title);
          },
        },
        'Next page',
      ),
    );
    clear(
      out,
      h(
        'p',
        { id: 'search-summary', 'data-count': r.entries.length },
        `${title}: ${r.entries.length} entr${r.entries.length === 1 ? 'y' : 'ies'} on this page${r.next_cursor ? ', more follow' : ''}.`,
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'results' },
          h('caption', {}, title),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Index'),
              h('th', { scope: 'col' }, 'Time (UTC)'),
              h('th', { scope: 'col' }, 'Actor'),
              h('th', { scope: 'col' }, 'Action'),
              h('th', { scope: 'col' }, 'Resource'),
              h('th', { scope: 'col' }, 'Result'),
              h('th', { scope: 'col', class: 'wide' }, 'IP address'),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
      ),
      nav,
    );
  } catch (e) {
    clear(out, errorBox(e));
  }
}

async function runFailures(min: number, cursor?: string): Promise<void> {
  const out = $('search-out');
  clear(out, h('p', {}, 'Counting failures…'));
  try {
    const r = await requireApi().json<{
      since: string;
      actors: { actor_id: string; failures: number; last_timestamp: string }[];
      next_cursor: string | null;
    }>('/failures', { hours: 24, min, limit: 100, cursor });
    const rows = r.actors.map((a) =>
      h(
        'tr',
        {},
        h('td', {}, a.actor_id),
        h('td', {}, a.failures),
        h('td', {}, a.last_timestamp),
        h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              onclick: () => {
                const p = { actor_id: a.actor_id, result: 'failure,denied', since: r.since, limit: '100' };
                setForm(p);
                void runSearch(p, `Failures and denials of ${a.actor_id} since ${r.since}`);
              },
            },
            'Show them',
          ),
        ),
      ),
    );
    clear(
      out,
      h(
        'p',
        { id: 'search-summary', 'data-count': r.actors.length },
        `Actors with more than ${min} failures or denials since ${r.since}: ${r.actors.length}.`,
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'failures' },
          h('caption', {}, 'Actors with many failures in the last 24 hours'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Actor'),
              h('th', { scope: 'col' }, 'Failures'),
              h('th', { scope: 'col' }, 'Last'),
              h('th', { scope: 'col' }, 'Entries'),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
      ),
      r.next_cursor
        ? h(
            'button',
            { type: 'button', onclick: () => runFailures(min, r.next_cursor ?? undefined) },
            'More actors',
          )
        : null,
    );
  } catch (e) {
    clear(out, errorBox(e));
  }
}

// ---------------------------------------------------------------- entry

const FIELD_ORDER: string[] = ['index', ...ENTRY_TEXT_FIELDS, ...ENTRY_JSON_FIELDS];

function value(v: unknown): Node | string {
  if (typeof v === 'object' && v !== null) return h('pre', {}, JSON.stringify(v, null, 2));
  return String(v);
}

async function openEntry(ref: string): Promise<void> {
  show('entry');
  const out = $('entry-out');
  clear(out, h('p', {}, `Loading entry ${ref}…`));
  let r: {
    entry: Entry;
    proof: { index: number; size: number; leaf_hash: string; hashes: string[] };
    checkpoint: string;
  };
  try {
    r = await requireApi().json(`/events/${encodeURIComponent(ref)}`);
  } catch (e) {
    clear(out, h('div', { id: 'entry-status' }, errorBox(e, /^[0-9]+$/.test(ref) ? Number(ref) : null)));
    return;
  }
  const e = r.entry;
  const status = h('div', { id: 'entry-status' }, 'Verifying…');
  const erased = new Set<string>(e.erased ?? []);
  const fields = h('dl', { class: 'fields' });
  const shown = new Set<string>();
  const keys = [...FIELD_ORDER, ...Object.keys(e).filter((k) => !FIELD_ORDER.includes(k))];
  for (const k of keys) {
    if (['hash', 'prev_hash', 'commitments', 'salts', 'erased', 'erased_by'].includes(k) || shown.has(k))
      continue;
    shown.add(k);
    const v = (e as unknown as Record<string, unknown>)[k];
    if (erased.has(k)) {
      fields.append(
        h('dt', {}, k),
        h(
          'dd',
          { class: 'erased' },
          `erased${e.erased_by !== undefined ? ` by entry #${e.erased_by}` : ''}; commitment ${e.commitments?.[k as keyof typeof e.commitments] ?? '?'}`,
        ),
      );
    } else if (v !== undefined) fields.append(h('dt', {}, k), h('dd', {}, value(v)));
  }
  const chain = h(
    'dl',
    { class: 'fields' },
    h('dt', {}, 'hash'),
    h('dd', { class: 'mono' }, e.hash),
    h('dt', {}, 'prev_hash'),
    h('dd', { class: 'mono' }, e.prev_hash),
    e.commitments ? h('dt', {}, 'commitments') : null,
    e.commitments ? h('dd', { class: 'mono' }, value(e.commitments)) : null,
  );
  const nav = h(
    'div',
    { class: 'row' },
    h('button', { type: 'button', onclick: () => show('search') }, 'Back to search'),
    h(
      'button',
      { type: 'button', disabled: e.index === 0, onclick: () => openEntry(String(e.index - 1)) },
      e.index === 0 ? 'Previous entry' : `Previous entry (#${e.index - 1})`,
    ),
    h(
      'button',
      { type: 'button', onclick: () => openEntry(String(e.index + 1)) },
      `Next entry (#${e.index + 1})`,
    ),
  );
  $('h-entry').textContent = `Entry #${e.index}`;
  clear(
    out,
    status,
    nav,
    h('h3', {}, 'Fields'),
    fields,
    h('h3', {}, 'Hash chain'),
    chain,
    h(
      'details',
      {},
      h('summary', {}, 'Inclusion proof'),
      h('pre', {}, JSON.stringify(r.proof, null, 2)),
      h('pre', {}, r.checkpoint),
    ),
  );
  try {
    const cp = await acceptCheckpoint(r.checkpoint, false);
    let computed: string;
    try {
      computed = toHex(entryLeafHash(e));
    } catch {
      computed = '';
    }
    if (computed !== e.hash) {
      throw new TrustFailure(
        'entry-modified',
        `Entry ${e.index}: its fields do not hash to its recorded hash: a field was edited after it was written.`,
        e.index,
      );
    }
    if (toHex(fromBase64(r.proof.leaf_hash, 32)) !== computed || r.proof.index !== e.index) {
      throw new TrustFailure(
        'entry-modified',
        `Entry ${e.index}: the proof is for another leaf than these fields.`,
        e.index,
      );
    }
    if (r.proof.size !== cp.size) {
      throw new TrustFailure(
        'proof-failed',
        `the proof is for tree size ${r.proof.size}, the checkpoint ${cp.size}`,
        e.index,
      );
    }
    try {
      verifyInclusion(
        fromHex(computed, 32),
        r.proof.index,
        r.proof.size,
        r.proof.hashes.map((x) => fromBase64(x, 32)),
        fromBase64(cp.root, 32),
      );
    } catch (err) {
      throw new TrustFailure(
        'proof-failed',
        `Entry ${e.index} is NOT in the signed tree of size ${cp.size}: ${(err as Error).message}. The entry was rewritten (hash recomputed) or the server's tree is not the signed one.`,
        e.index,
      );
    }
    clear(
      status,
      h(
        'div',
        { class: 'ok-box', 'data-state': 'verified' },
        h('strong', {}, 'Verified in this page. '),
        `The fields hash to ${computed.slice(0, 16)}…, and the inclusion proof leads to the root of the checkpoint of size ${cp.size} signed by the pinned key.`,
        erased.size > 0
          ? ` Erased fields (${[...erased].join(', ')}) are checked through their commitments.`
          : '',
      ),
    );
  } catch (err) {
    clear(status, errorBox(err));
  }
}

// ---------------------------------------------------------------- log

function renderLog(): void {
  const out = $('log-out');
  if (!current) {
    clear(out, h('p', {}, 'Connect first.'));
    return;
  }
  const cp = current;
  const remembered = store.remembered(cp.origin);
  const lines = cp.lines.map((l) =>
    h(
      'tr',
      {},
      h('td', {}, l.name),
      h('td', { class: 'mono' }, l.keyId),
      h('td', { class: l.status.startsWith('unknown') ? '' : 'ok' }, l.status),
      h('td', {}, l.time !== undefined ? new Date(l.time * 1000).toISOString() : ''),
    ),
  );
  clear(
    out,
    h(
      'dl',
      { class: 'fields' },
      h('dt', {}, 'Origin'),
      h('dd', {}, cp.origin),
      h('dt', {}, 'Tree size'),
      h('dd', { id: 'log-size' }, cp.size.toLocaleString('en')),
      h('dt', {}, 'Root hash'),
      h('dd', { class: 'mono' }, cp.root),
      h('dt', {}, 'Remembered'),
      h(
        'dd',
        {},
        remembered
          ? `size ${remembered.size}, verified ${remembered.at}: every visit must prove the log extends it`
          : 'nothing yet',
      ),
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'signatures' },
        h('caption', {}, 'Signature lines'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Key name'),
            h('th', { scope: 'col' }, 'Key id'),
            h('th', { scope: 'col' }, 'Status'),
            h('th', { scope: 'col' }, 'Cosigned at'),
          ),
        ),
        h('tbody', {}, ...lines),
      ),
    ),
    h('details', {}, h('summary', {}, 'The signed checkpoint'), h('pre', {}, cp.note)),
  );
  renderChart();
  void renderServerState();
}

function renderChart(): void {
  const el = $('log-chart');
  if (!current) return;
  const growth = store.growth(current.origin);
  const history = store.history(current.origin);
  clear(
    el,
    growth.length >= 2
      ? growthChart(growth, 'Entries by arrival time, from the last whole verification')
      : growthChart(history, 'Tree size at each checkpoint this page verified'),
    h(
      'p',
      { class: 'hint' },
      growth.length >= 2
        ? 'Entries by arrival time (received_at), sampled during the last whole verification.'
        : 'Tree size at each checkpoint this page verified; run "Verify everything" for the whole history.',
    ),
  );
}

async function renderServerState(): Promise<void> {
  const el = $('server-state');
  if (!api) return;
  let state: Node;
  try {
    const res = await fetch(new URL('/readyz', api.base).toString(), { cache: 'no-store' });
    const body = (await res.json()) as Record<string, unknown>;
    state = h(
      'dl',
      { class: 'fields' },
      ...Object.entries(body).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, value(v))]),
    );
  } catch (e) {
    state = h('p', {}, `/readyz did not answer: ${(e as Error).message}`);
  }
  clear(el, state);
  await renderLogEvents();
}

/** Every entry of one action, in index order (the query API pages by cursor). */
async function entriesOf(action: string): Promise<Entry[]> {
  const out: Entry[] = [];
  let cursor: string | undefined;
  do {
    const r = await requireApi().json<{ entries: Entry[]; next_cursor: string | null }>('/events', {
      action,
      limit: '1000',
      cursor,
    });
    out.push(...r.entries);
    cursor = r.next_cursor ?? undefined;
  } while (cursor);
  return out;
}

const MAX_ALERTS = 10;

function meta(e: Entry): Record<string, unknown> {
  const m = (e as { metadata?: unknown }).metadata;
  return typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : {};
}

function short(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

/** One list of entries, newest first, each a link to its entry page (proof checked there). */
function entryList(id: string, title: string, entries: Entry[], describe: (e: Entry) => string): HTMLElement {
  const items = entries.map((e) =>
    h(
      'li',
      { 'data-index': e.index },
      h(
        'button',
        { type: 'button', class: 'link', onclick: () => openEntry(String(e.index)) },
        `#${e.index}`,
      ),
      ` ${e.timestamp ?? ''} ${describe(e)}`,
    ),
  );
  return h(
    'section',
    { id, 'aria-label': title },
    h('h4', {}, title),
    items.length > 0 ? h('ul', {}, ...items) : h('p', { class: 'none' }, 'none recorded'),
  );
}

/**
 * Retention policy, archive targets and prunes, and recent alerts: read from the log's own
 * entries (evident.* actions), so they are covered by the log's verification like any entry.
 */
async function renderLogEvents(): Promise<void> {
  const el = $('log-events');
  if (!api) return;
  clear(el, h('p', {}, 'Reading retention, archive and alert entries…'));
  try {
    const [retention, targets, prunes, alerts] = await Promise.all([
      entriesOf('evident.retention.set'),
      entriesOf('evident.archive.target.added'),
      entriesOf('evident.prune'),
      entriesOf('evident.alert'),
    ]);
    const latest = retention.slice(-1);
    clear(
      el,
      h(
        'p',
        { class: 'hint' },
        'From the log entries below (each covered by the log verification; open one to check its inclusion proof here).',
      ),
      entryList('log-retention', 'Retention policy', latest, (e) => {
        const p = meta(e)['retention'] as Record<string, unknown> | undefined;
        return p
          ? `${short(p['preset'])}: online ${short(p['online'])}, archive ${short(p['archive'])}${p['purpose'] ? `, purpose ${short(p['purpose'])}` : ''}`
          : 'policy missing from the entry';
      }),
      entryList(
        'log-archive',
        'Archive targets and prunes',
        [...targets, ...prunes].sort((a, b) => b.index - a.index),
        (e) => {
          const m = meta(e);
          if (e.action === 'evident.prune') {
            const seg = m['segment'] as { first?: unknown; last?: unknown } | undefined;
            return `pruned entries ${short(seg?.first)} to ${short(seg?.last)}; objects ${short(m['objects'])}`;
          }
          return `target added: ${e.resource_id}`;
        },
      ),
      entryList('log-alerts', 'Recent alerts', alerts.slice(-MAX_ALERTS).reverse(), (e) => {
        const m = meta(e);
        const w = m['window'] as { start?: unknown; end?: unknown } | undefined;
        return `${short(m['rule'])} ${short(m['subject'])}, count ${short(m['count'])}, window ${short(w?.start)} to ${short(w?.end)}`;
      }),
    );
  } catch (e) {
    clear(el, errorBox(e));
  }
}

// ---------------------------------------------------------------- whole verification

function makeWorker(): Worker | undefined {
  try {
    const url = URL.createObjectURL(new Blob([scriptText], { type: 'text/javascript' }));
    return new Worker(url);
  } catch {
    return undefined;
  }
}

/** Runs a verification in a worker (or, if workers are refused, in the page) and reports messages. */
function verifyIn(req: WorkerRequest, on: (m: WorkerMessage) => void): void {
  const w = makeWorker();
  document.body.dataset['verifier'] = w ? 'worker' : 'page';
  if (!w) {
    void runVerification(req, on);
    return;
  }
  w.onmessage = (e: MessageEvent<WorkerMessage>) => {
    on(e.data);
    if (e.data.type === 'done' || e.data.type === 'error') w.terminate();
  };
  w.onerror = (e) => {
    on({ type: 'error', code: 'WORKER_FAILED', message: e.message });
    w.terminate();
  };
  w.postMessage(req);
}

function reportView(report: VerifyReport, ms: number, header: BundleHeader | undefined): HTMLElement {
  const rate = Math.round(report.entries / Math.max(ms / 1000, 0.001));
  const faults = report.faults.map((f) =>
    h(
      'tr',
      {},
      h('td', {}, f.kind),
      h('td', {}, f.index === null ? '' : String(f.index)),
      h('td', {}, f.message),
    ),
  );
  const box = h(
    'div',
    {
      class: report.ok ? 'ok-box' : 'bad-box',
      id: 'report',
      'data-state': report.ok ? 'ok' : 'tampered',
      'data-entries': report.entries,
      'data-ms': Math.round(ms),
      'data-rate': rate,
      'data-first-bad': report.first_bad_index ?? '',
    },
    h(
      'p',
      {},
      h(
        'strong',
        {},
        report.ok
          ? `OK: ${report.entries.toLocaleString('en')} entries verified`
          : report.faults.length > 0
            ? `TAMPERING DETECTED: first bad index ${report.first_bad_index ?? '(checkpoints)'}`
            : 'NOT VERIFIED: not every checkpoint could be checked',
      ),
      ` (${header ? `${header.origin}, indexes ${header.range.from} to ${header.range.to - 1}, ` : ''}${(ms / 1000).toFixed(1)} s, ${rate.toLocaleString('en')} entries/s).`,
    ),
    h('p', {}, `Entries covered by a verified signed checkpoint: ${report.verified_size} of the tree.`),
    faults.length
      ? h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('caption', {}, 'Faults'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', { scope: 'col' }, 'Kind'),
                h('th', { scope: 'col' }, 'Index'),
                h('th', { scope: 'col' }, 'What'),
              ),
            ),
            h('tbody', {}, ...faults),
          ),
        )
      : null,
    // The page checks the bundle's checkpoint against the one it remembers itself (acceptCheckpoint).
    ...report.warnings
      .filter((w) => !w.startsWith('no checkpoint kept outside'))
      .map((w) => h('p', { class: 'hint' }, `Note: ${w}`)),
  );
  return box;
}

function progressView(): { el: HTMLElement; bar: HTMLProgressElement; text: HTMLElement } {
  const bar = h('progress', {
    id: 'verify-progress',
    max: 1,
    value: 0,
    'aria-label': 'Verification progress',
  });
  const text = h('p', { 'aria-live': 'polite' }, 'Starting…');
  return { el: h('div', {}, bar, text), bar, text };
}

function verifyAll(): void {
  const out = $('verify-out');
  const a = requireApi();
  const origin = current?.origin;
  const p = progressView();
  clear(out, p.el);
  const btn = $<HTMLButtonElement>('verify-all');
  btn.disabled = true;
  let header: BundleHeader | undefined;
  const since = localToIso($<HTMLInputElement>('v-since').value);
  const until = localToIso($<HTMLInputElement>('v-until').value);
  verifyIn(
    { source: 'url', url: a.url('/export', { since, until }), key: a.key, logKeys: [...pins.logKeys] },
    (m) => {
      if (m.type === 'header') {
        header = m.header;
        p.bar.max = Math.max(1, m.header.range.to - m.header.range.from);
        p.text.textContent = `Verifying ${m.header.range.to - m.header.range.from} entries of ${m.header.origin}…`;
      } else if (m.type === 'progress') {
        p.bar.value = m.entries;
        p.text.textContent = `${m.entries.toLocaleString('en')} of ${p.bar.max.toLocaleString('en')} entries`;
      } else if (m.type === 'growth') {
        if (origin && !since && !until) store.setGrowth(origin, m.points);
      } else if (m.type === 'done') {
        btn.disabled = false;
        const view = reportView(m.report, m.ms, header);
        clear(out, view);
        renderChart();
        if (!m.report.ok && m.report.faults.length > 0) {
          const f = m.report.faults[0]!;
          raise(
            new TrustFailure(
              'tampering',
              `The log fails verification: ${f.kind} at index ${f.index ?? '(none)'}: ${f.message}`,
              m.report.first_bad_index,
            ),
          );
          return;
        }
        // The bundle's checkpoint must extend the one this page trusts too.
        if (header) {
          acceptCheckpoint(header.checkpoint, false)
            .then((cp) => {
              const r = store.remembered(cp.origin);
              view.append(
                h(
                  'p',
                  { id: 'report-consistency' },
                  `Its checkpoint (size ${cp.size}) is signed by the pinned key${r ? ` and consistent with the size ${r.size} this page remembers` : ''}.`,
                ),
              );
            })
            .catch((e) => out.append(errorBox(e)));
        }
      } else {
        btn.disabled = false;
        const d = m.details ?? {};
        if (d['code'] === 'TAMPER_DETECTED' || m.code === 'TAMPER_DETECTED') {
          const index = typeof d['index'] === 'number' ? d['index'] : null;
          clear(
            out,
            errorBox(
              new TrustFailure(
                'export-failed',
                `The server found its own log damaged while exporting it: ${m.message}`,
                index,
              ),
            ),
          );
        } else clear(out, errorBox(new Error(`${m.code}: ${m.message}`)));
      }
    },
  );
}

// ---------------------------------------------------------------- offline bundles

function openBundle(file: File): void {
  const out = $('bundle-out');
  const logKeys = [...readPins().logKeys];
  if (logKeys.length > 0) store.setLogKeys(logKeys);
  if (logKeys.length === 0) {
    clear(
      out,
      errorBox(
        new Error(
          'Pin the log verifier key under Connect first: a bundle is checked against it, never against the key the bundle names.',
        ),
      ),
    );
    return;
  }
  const p = progressView();
  clear(out, h('p', {}, `${file.name}: ${file.size.toLocaleString('en')} bytes`), p.el);
  let header: BundleHeader | undefined;
  verifyIn({ source: 'file', file, logKeys }, (m) => {
    if (m.type === 'header') {
      header = m.header;
      p.bar.max = Math.max(1, m.header.range.to - m.header.range.from);
    } else if (m.type === 'progress') {
      p.bar.value = m.entries;
      p.text.textContent = `${m.entries.toLocaleString('en')} of ${p.bar.max.toLocaleString('en')} entries`;
    } else if (m.type === 'done') {
      const view = reportView(m.report, m.ms, header);
      clear(out, h('p', {}, file.name), view);
      if (header) out.append(compareRemembered(header));
      if (!m.report.ok && m.report.faults.length > 0) {
        const f = m.report.faults[0]!;
        raise(
          new TrustFailure(
            'tampering',
            `The bundle ${file.name} fails verification: ${f.kind} at index ${f.index ?? '(none)'}: ${f.message}`,
            m.report.first_bad_index,
          ),
        );
      }
    } else if (m.type === 'error') {
      clear(out, errorBox(new Error(`${file.name}: ${m.code}: ${m.message}`)));
    }
  });
}

/** Offline, the bundle's own consistency proofs are the only way to relate it to the remembered checkpoint. */
function compareRemembered(header: BundleHeader): HTMLElement {
  const r = store.remembered(header.origin);
  if (!r) return h('p', { class: 'hint' }, 'This page remembers no checkpoint of this log to compare with.');
  let size: number;
  let root: string;
  try {
    const cp = checkCheckpoint(
      header.checkpoint,
      verifiersOf({ logKeys: readPins().logKeys, witnessKeys: [] }),
    );
    size = cp.size;
    root = cp.root;
  } catch (e) {
    return errorBox(e);
  }
  try {
    if (r.size === size) {
      if (r.root !== root) throw new Error('same size, another root');
    } else if (r.size < size) {
      const proof = header.consistency?.find((c) => c.size === r.size);
      if (!proof) {
        return h(
          'p',
          { class: 'hint' },
          `Not compared with the checkpoint of size ${r.size} this page remembers: the bundle carries no consistency proof from it (export with --consistency-from ${r.size}).`,
        );
      }
      verifyConsistency(
        r.size,
        size,
        proof.hashes.map((x) => fromBase64(x, 32)),
        fromBase64(r.root, 32),
        fromBase64(root, 32),
      );
    } else {
      return h(
        'p',
        { class: 'hint' },
        `The bundle's tree (size ${size}) is older than the one this page remembers (${r.size}).`,
      );
    }
  } catch (e) {
    return errorBox(
      new TrustFailure(
        'fork',
        `FORK: the bundle's tree of size ${size} does not extend the size ${r.size} this page verified on ${r.at}: ${(e as Error).message}`,
      ),
    );
  }
  return h(
    'p',
    { class: 'ok-box' },
    `Consistent with the checkpoint of size ${r.size} this page verified on ${r.at}.`,
  );
}

// ---------------------------------------------------------------- start

export function startApp(script: string): void {
  scriptText = script;
  // #vkey=<key>: taken as written or URL-encoded ('+' stays '+', as a key text holds it).
  const m = /(?:^#|&)vkey=([^&]*)/.exec(location.hash);
  let pinned: string | undefined;
  try {
    pinned = m ? decodeURIComponent(m[1]!).trim() : undefined;
  } catch {
    pinned = undefined;
  }
  // #...&quorum=<k>: the witness quorum, kept with the other pins.
  const q = /(?:^#|&)quorum=([0-9]{1,3})(?:&|$)/.exec(location.hash);
  if (q) store.setQuorum(Number(q[1]));
  if (pinned) {
    const keys = store.logKeys();
    if (!keys.includes(pinned)) store.setLogKeys([pinned, ...keys]);
  }
  if (pinned || q) history.replaceState(null, '', location.pathname + location.search);
  const served = location.protocol === 'http:' || location.protocol === 'https:';
  $<HTMLInputElement>('server').value = store.server() || (served ? location.origin : '');
  $<HTMLInputElement>('log').value = store.log();
  $<HTMLInputElement>('apikey').value = store.apiKey();
  $<HTMLTextAreaElement>('vkey').value = store.logKeys().join('\n');
  $<HTMLTextAreaElement>('witnesses').value = store.witnessKeys().join('\n');
  const quorum = store.quorum();
  $<HTMLInputElement>('quorum').value = quorum === null ? '' : String(quorum);

  for (const b of document.querySelectorAll<HTMLButtonElement>('nav button')) {
    b.addEventListener('click', () => {
      const v = b.dataset['view'] as View;
      if (v === 'log') renderLog();
      show(v);
    });
  }
  $('connect-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void connect();
  });
  $('forget').addEventListener('click', () => {
    const origin = current?.origin;
    if (!origin) {
      clear($('connect-out'), h('p', {}, 'Connect first: the remembered checkpoint is kept per log.'));
      return;
    }
    if (
      !confirm(
        `Forget the checkpoint this page remembers for ${origin}? A rollback before now could then go unseen.`,
      )
    )
      return;
    store.forget(origin);
    clear($('connect-out'), h('p', {}, `Forgot the remembered checkpoint of ${origin}.`));
  });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void runSearch(formParams(), 'Search results');
  });
  $('q-actor').addEventListener('submit', (e) => {
    e.preventDefault();
    const actor = $<HTMLInputElement>('q-actor-id').value.trim();
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const p = { actor_id: actor, since, limit: '100' };
    setForm(p);
    void runSearch(p, `Actions of ${actor} in the last 30 days`);
  });
  $('q-record').addEventListener('submit', (e) => {
    e.preventDefault();
    const type = $<HTMLInputElement>('q-record-type').value.trim();
    const id = $<HTMLInputElement>('q-record-id').value.trim();
    const p: Record<string, string> = { resource_id: id, limit: '100' };
    if (type) p['resource_type'] = type;
    setForm(p);
    void runSearch(p, `All access to ${type ? `${type}/` : ''}${id}`);
  });
  $('q-entry').addEventListener('submit', (e) => {
    e.preventDefault();
    void openEntry($<HTMLInputElement>('q-entry-ref').value.trim());
  });
  $('q-failures').addEventListener('submit', (e) => {
    e.preventDefault();
    void runFailures(Number($<HTMLInputElement>('q-failures-min').value));
  });
  $('verify-form').addEventListener('submit', (e) => {
    e.preventDefault();
    verifyAll();
  });
  const input = $<HTMLInputElement>('bundle-file');
  input.addEventListener('change', () => {
    const f = input.files?.[0];
    if (f) openBundle(f);
  });
  const drop = $('drop');
  const section = $('view-bundle');
  section.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  section.addEventListener('dragleave', () => drop.classList.remove('over'));
  section.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) openBundle(f);
  });

  show('connect', false);
  // Every visit re-verifies: with the key still in this tab, connect at once.
  if (store.apiKey() && store.logKeys().length > 0 && $<HTMLInputElement>('server').value) void connect();
  void failure;
}
