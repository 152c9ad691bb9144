// Switchyard usage dashboard: reads the admin API with the signed-in key.
// Every value from the API is written with textContent, never as HTML.
'use strict';

const KEY = 'switchyard.adminKey';
// tenant: the tenant whose keys are shown; who: the signed-in key's
// /admin/whoami answer (null until it has been checked).
const state = { tenant: '', who: null };
const $ = (sel) => document.querySelector(sel);

const RANGES = { '24h': { ms: 24 * 3600e3, bucket: '1h' }, '7d': { ms: 7 * 86400e3, bucket: '24h' }, '30d': { ms: 30 * 86400e3, bucket: '24h' } };

// Generations of the page's loads and of the keys' table: an answer to an
// earlier selection (another period, another tenant, an earlier Refresh)
// that arrives after a later one's is dropped, not drawn over it.
let loadGen = 0;
let keysGen = 0;

// pending counts the loads under way (also those whose answers will be
// dropped), in body[data-pending], so a test can wait for all to end.
let pending = 0;
async function tracked(f) {
  document.body.dataset.pending = String(++pending);
  try {
    return await f();
  } finally {
    document.body.dataset.pending = String(--pending);
  }
}

function key() { return sessionStorage.getItem(KEY) || ''; }

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// A 401 or 403 is the admin API refusing the key (revoked, rotated,
// admin.key changed, tenant disabled); anything else (a 503 while the
// store is down, a network error) says nothing about the key.
const isRefusal = (e) => e instanceof APIError && (e.status === 401 || e.status === 403);

// errorOf reads the admin API's JSON error of a failed answer.
async function errorOf(resp) {
  let body = null;
  try { body = await resp.json(); } catch (_) { /* not JSON */ }
  const msg = body && body.error && body.error.message ? body.error.message : 'HTTP ' + resp.status;
  return new APIError(resp.status, msg);
}

// send fetches an admin API path with the key. With no key (none given,
// or forgotten after a refusal) nothing is sent: every refused call
// counts against the address's sign-in limit, for every admin behind it.
async function send(path) {
  const k = key();
  if (!k) throw new APIError(401, 'not signed in');
  let resp;
  try {
    resp = await fetch(path, { headers: { Authorization: 'Bearer ' + k }, cache: 'no-store' });
  } catch (_) {
    throw new APIError(0, 'the admin API could not be reached');
  }
  if (!resp.ok) throw await errorOf(resp);
  return resp;
}

async function api(path) {
  const resp = await send(path);
  try { return await resp.json(); } catch (_) { throw new APIError(resp.status, 'the admin API answered something that is not JSON'); }
}

// batch runs first alone and then the rest at once, so a key refused
// since the last load costs one refused call, not a burst of them.
async function batch(first, ...rest) {
  const a = await first();
  return [a, ...(await Promise.all(rest.map((f) => f())))];
}

function usage(params) {
  return api('/admin/usage?' + new URLSearchParams(params)).then((b) => b.usage || []);
}

// Dollars: cents, six decimals under a cent, and never $0.000000 for a cost that is not nothing.
const usd = (v) => (v > 0 && v < 0.0000005 ? '<$0.000001' : '$' + (v < 0.01 && v > 0 ? v.toFixed(6) : v.toFixed(2)));
const int = (v) => Number(v || 0).toLocaleString('en-US');

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

// labelCell shows a name of any length on one line, cut with an ellipsis
// and whole in its title, so the figures beside it stay in view.
function labelCell(tr, text, cls) {
  const td = cell(tr, '', cls);
  const span = document.createElement('span');
  span.className = 'clip';
  span.textContent = text;
  span.title = text;
  td.appendChild(span);
  return td;
}

function startOfDayUTC(d) { return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())); }
function startOfMonthUTC(d) { return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)); }
function iso(d) { return d.toISOString().replace(/\.\d{3}Z$/, 'Z'); }

// budgetAmounts writes a spend and its budget as usd() does, or, when the
// spend is below the budget but would read as much (usd() rounds $9.996 up to
// $10.00), both with as many decimals as it takes to tell them apart.
function budgetAmounts(spent, budget) {
  const below = (s, b) => Number(s.replace(/^<?\$/, '')) < Math.min(budget, Number(b.replace(/^<?\$/, '')));
  let s = usd(spent);
  let b = usd(budget);
  if (spent >= budget || below(s, b)) return [s, b];
  for (let d = 2; d <= 10; d++) {
    s = '$' + spent.toFixed(d);
    b = '$' + budget.toFixed(d);
    if (below(s, b)) return [s, b];
  }
  return ['<' + b, b];
}

// percent writes a share of a budget rounded down, to a tenth near 100%, so
// a budget that is not spent never reads 100%. The tiny addition keeps a
// share like 0.29 (28.999… in floating point) at 29%.
function percent(share) {
  if (share >= 1) return Math.floor(share * 100 + 1e-9) + '%';
  if (share >= 0.99) return (Math.min(999, Math.floor(share * 1000 + 1e-9)) / 10).toFixed(1) + '%';
  return Math.min(99, Math.floor(share * 100 + 1e-9)) + '%';
}

// budgetCell shows spend against a budget: a bar, amber at 80%, red at 100%.
// Its text wraps, when the columns need the room, between the amounts, not
// inside one.
function budgetCell(tr, spent, budget) {
  const td = cell(tr, '', 'budget');
  const text = document.createElement('div');
  text.className = 'text';
  td.appendChild(text);
  const words = (...parts) => parts.forEach((p, i) => {
    if (i > 0) text.append(' ');
    const span = document.createElement('span');
    span.className = 'nowrap';
    span.textContent = p;
    text.appendChild(span);
  });
  if (!budget) {
    words(usd(spent), '(no budget)');
    text.classList.add('muted');
    return;
  }
  const share = spent / budget;
  const [s, b] = budgetAmounts(spent, budget);
  words(s, 'of ' + b, '(' + percent(share) + ')');
  const bar = document.createElement('div');
  bar.className = 'bar';
  const fill = document.createElement('span');
  fill.style.width = Math.min(100, share * 100).toFixed(1) + '%';
  bar.appendChild(fill);
  td.appendChild(bar);
  if (share >= 1) td.classList.add('over');
  else if (share >= 0.8) td.classList.add('warn');
}

function byTenant(rows) {
  const m = new Map();
  for (const r of rows) m.set(r.tenant_id || '', r);
  return m;
}

function renderChart(rows, bucketMs, from, to) {
  const box = $('#chart');
  box.replaceChildren();
  const NS = 'http://www.w3.org/2000/svg';
  const n = Math.max(1, Math.round((to - from) / bucketMs));
  const first = Math.floor(from / bucketMs) * bucketMs;
  const cost = new Array(n + 1).fill(0);
  for (const r of rows) {
    const i = Math.round((Date.parse(r.bucket_start) - first) / bucketMs);
    if (i >= 0 && i < cost.length) cost[i] += r.cost_usd;
  }
  const max = Math.max(...cost, 0);
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + cost.length * 10 + ' 100');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Cost per ' + (bucketMs === 3600e3 ? 'hour' : 'day'));
  cost.forEach((c, i) => {
    if (c <= 0) return;
    const h = Math.max(1, (c / max) * 95);
    const rect = document.createElementNS(NS, 'rect');
    rect.setAttribute('x', String(i * 10 + 1));
    rect.setAttribute('y', String(100 - h));
    rect.setAttribute('width', '8');
    rect.setAttribute('height', String(h));
    rect.dataset.cost = String(c);
    const title = document.createElementNS(NS, 'title');
    title.textContent = new Date(first + i * bucketMs).toISOString().slice(0, 16).replace('T', ' ') + ' UTC: ' + usd(c);
    rect.appendChild(title);
    svg.appendChild(rect);
  });
  box.appendChild(svg);
  const note = document.createElement('div');
  note.className = 'muted';
  note.id = 'chart-note';
  note.textContent = max > 0 ? 'Highest ' + (bucketMs === 3600e3 ? 'hour' : 'day') + ': ' + usd(max) : 'No cost in this period.';
  box.appendChild(note);
}

function load() {
  const gen = ++loadGen;
  return tracked(async () => {
    try {
      await loadPage(gen);
    } catch (e) {
      if (gen !== loadGen && !isRefusal(e)) return; // a later load shows its own
      throw e;
    }
  });
}

async function loadPage(gen) {
  $('#error').textContent = '';
  const range = RANGES[$('#range').value] || RANGES['24h'];
  const now = new Date();
  const from = new Date(now.getTime() - range.ms);
  const [tenants, inRange, today, month, buckets, routes] = await batch(
    () => api('/admin/tenants').then((b) => b.tenants || []),
    () => usage({ from: iso(from), group_by: 'tenant' }),
    () => usage({ from: iso(startOfDayUTC(now)), group_by: 'tenant' }),
    () => usage({ from: iso(startOfMonthUTC(now)), group_by: 'tenant' }),
    () => usage({ from: iso(from), bucket: range.bucket }),
    () => usage({ from: iso(from), group_by: 'route,deployment' }),
  );
  if (gen !== loadGen) return; // a later load is under way

  const tot = { requests: 0, cost_usd: 0, cache_hits: 0, errors: 0 };
  for (const r of inRange) for (const k in tot) tot[k] += r[k] || 0;
  $('#total-requests').textContent = int(tot.requests);
  $('#total-cost').textContent = usd(tot.cost_usd);
  $('#total-cache-hits').textContent = int(tot.cache_hits);
  $('#total-errors').textContent = int(tot.errors);

  const use = byTenant(inRange), day = byTenant(today), mon = byTenant(month);
  const ids = new Set(tenants.map((t) => t.id));
  const list = tenants.map((t) => ({ id: t.id, name: t.name, limits: t.limits || {}, disabled: t.disabled }));
  // Requests without a tenant (static keys, or refused before a key was known).
  for (const id of use.keys()) if (!ids.has(id)) list.push({ id, name: '', limits: {}, none: id === '' });
  const body = $('#tenants tbody');
  body.replaceChildren();
  for (const t of list) {
    const u = use.get(t.id) || {};
    const tr = document.createElement('tr');
    tr.dataset.tenant = t.id;
    const label = t.none ? '(no tenant: static keys, refused requests)' : t.name && t.name !== t.id ? t.id + ' · ' + t.name : t.id;
    labelCell(tr, label + (t.disabled ? ' (disabled)' : ''), 'tenant');
    cell(tr, int(u.requests), 'num requests');
    cell(tr, int(u.errors), 'num errors');
    cell(tr, int(u.cache_hits), 'num cache-hits');
    cell(tr, int(u.input_tokens), 'num');
    cell(tr, int(u.cached_input_tokens), 'num cached-input');
    cell(tr, int(u.output_tokens), 'num');
    cell(tr, usd(u.cost_usd || 0), 'num cost');
    budgetCell(tr, (day.get(t.id) || {}).cost_usd || 0, t.limits.budget_daily_usd || 0);
    budgetCell(tr, (mon.get(t.id) || {}).cost_usd || 0, t.limits.budget_monthly_usd || 0);
    if (!t.none) tr.addEventListener('click', () => showKeys(t.id).catch(fail));
    if (t.id === state.tenant) tr.classList.add('selected');
    body.appendChild(tr);
  }
  // A tenant admin sees one tenant: its keys at once.
  if (!state.tenant && list.length === 1 && !list[0].none) state.tenant = list[0].id;
  if (state.tenant) await showKeys(state.tenant);
  if (gen !== loadGen) return;

  renderChart(buckets, range.bucket === '1h' ? 3600e3 : 86400e3, from.getTime(), now.getTime());

  const rbody = $('#routes tbody');
  rbody.replaceChildren();
  routes.sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests);
  for (const r of routes) {
    const tr = document.createElement('tr');
    labelCell(tr, r.route || '(none)');
    labelCell(tr, r.deployment || (r.cache_hits ? '(cache)' : '–'));
    cell(tr, int(r.requests), 'num');
    cell(tr, int(r.cache_hits), 'num');
    cell(tr, usd(r.cost_usd), 'num');
    cell(tr, r.avg_latency_ms.toFixed(1), 'num');
    // Clients' ratings (POST /v1/feedback): mean, and how many.
    cell(tr, r.avg_quality == null ? '–' : r.avg_quality.toFixed(2) + ' (' + int(r.rated) + ')', 'num quality');
    rbody.appendChild(tr);
  }
  document.body.dataset.loaded = String(Date.now());
}

// exportCSV downloads the period's usage records (the admin API's CSV
// export, fetched with the key, so no key ever goes into a URL).
async function exportCSV() {
  const range = RANGES[$('#range').value] || RANGES['24h'];
  const from = new Date(Date.now() - range.ms);
  let resp;
  try {
    resp = await send('/admin/usage/export?' + new URLSearchParams({ format: 'csv', from: iso(from) }));
  } catch (e) {
    if (e instanceof APIError) e.what = 'export usage';
    throw e;
  }
  let blob;
  try { blob = await resp.blob(); } catch (_) {
    // The store failed midway: the gateway broke the transfer off.
    throw Object.assign(new APIError(0, 'the transfer was broken off before the end'), { what: 'export usage' });
  }
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = 'switchyard-usage-' + iso(from).slice(0, 10) + '.csv';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// showKeys lists a tenant's keys with their usage in the period and the
// spend of today and this month against each key's budgets.
function showKeys(tenant) {
  const gen = ++keysGen, page = loadGen;
  return tracked(async () => {
    try {
      await keysOf(tenant, gen, page);
    } catch (e) {
      if ((gen !== keysGen || page !== loadGen) && !isRefusal(e)) return;
      throw e;
    }
  });
}

async function keysOf(tenant, gen, page) {
  state.tenant = tenant;
  for (const tr of document.querySelectorAll('#tenants tbody tr')) tr.classList.toggle('selected', tr.dataset.tenant === tenant);
  const range = RANGES[$('#range').value] || RANGES['24h'];
  const now = new Date();
  const q = (from) => () => usage({ from: iso(from), group_by: 'key', tenant_id: tenant });
  const [keys, inRange, today, month] = await batch(
    () => api('/admin/keys?' + new URLSearchParams({ tenant_id: tenant })).then((b) => b.keys || []),
    q(new Date(now.getTime() - range.ms)), q(startOfDayUTC(now)), q(startOfMonthUTC(now)),
  );
  // Another tenant was selected, or another period, since.
  if (gen !== keysGen || page !== loadGen) return;
  const by = (rows) => { const m = new Map(); for (const r of rows) m.set(r.key_id || '', r); return m; };
  const use = by(inRange), day = by(today), mon = by(month);
  $('#keys-title').textContent = 'Keys of ' + tenant;
  const body = $('#keys tbody');
  body.replaceChildren();
  for (const k of keys) {
    const u = use.get(k.id) || {};
    const tr = document.createElement('tr');
    tr.dataset.key = k.id;
    cell(tr, k.id, 'key-id');
    labelCell(tr, k.name || '–', 'key-name');
    cell(tr, k.prefix || '');
    cell(tr, k.revoked_at ? 'revoked' : k.expires_at && Date.parse(k.expires_at) < Date.now() ? 'expired' : k.role === 'tenant_admin' ? 'active (tenant admin)' : 'active', 'status');
    cell(tr, int(u.requests), 'num requests');
    cell(tr, int(u.errors), 'num');
    cell(tr, int(u.cache_hits), 'num');
    cell(tr, usd(u.cost_usd || 0), 'num cost');
    const limits = k.limits || {};
    budgetCell(tr, (day.get(k.id) || {}).cost_usd || 0, limits.budget_daily_usd || 0);
    budgetCell(tr, (mon.get(k.id) || {}).cost_usd || 0, limits.budget_monthly_usd || 0);
    body.appendChild(tr);
  }
  $('#keys-section').hidden = false;
}

// signedOut shows the sign-in form with a message, the figures of the
// key that was in use cleared.
function signedOut(message) {
  sessionStorage.removeItem(KEY);
  state.tenant = '';
  state.who = null;
  loadGen++;
  keysGen++;
  $('#login').hidden = false;
  $('#app').hidden = true;
  $('#who').hidden = true;
  $('#login-error').textContent = message;
  $('#error').textContent = '';
  for (const id of ['#total-requests', '#total-cost', '#total-cache-hits', '#total-errors']) $(id).textContent = '–';
  for (const sel of ['#tenants tbody', '#keys tbody', '#routes tbody', '#chart']) $(sel).replaceChildren();
  $('#keys-section').hidden = true;
  delete document.body.dataset.loaded;
}

// fail shows what went wrong. A refused key is forgotten and the sign-in
// form shown, so no further call is sent with it; any other error (the
// store down, the network) keeps the key, and Refresh tries again.
function fail(e) {
  if (isRefusal(e)) {
    if (!key()) return; // signed out already
    signedOut('The admin API refused the key (' + e.message + '); it may have been revoked or rotated. Sign in again.');
    return;
  }
  const exporting = e.what === 'export usage';
  $('#error').textContent = 'Could not ' + (e.what || 'load usage') + ': ' + e.message + '. ' +
    (exporting ? 'Export CSV again to retry.' : 'Refresh to try again.');
}

// start checks the key (/admin/whoami), if it has not been, and loads the page.
async function start() {
  if (!state.who) {
    try {
      setWho(await api('/admin/whoami'));
    } catch (e) {
      if (e instanceof APIError) e.what = 'check the key';
      throw e;
    }
  }
  await load();
}

function setWho(who) {
  state.who = who;
  $('#whoami').textContent = who.role === 'global_admin' ? 'Global admin' : 'Tenant admin of ' + who.tenant_id;
}

async function signIn(k) {
  sessionStorage.setItem(KEY, k);
  state.who = null;
  $('#whoami').textContent = '';
  $('#login-error').textContent = '';
  let checked = null;
  try {
    setWho(await api('/admin/whoami'));
  } catch (e) {
    if (isRefusal(e)) {
      signedOut('That key is not an admin key: ' + e.message);
      return;
    }
    // The key could not be checked (the key store down, the network):
    // it is kept, and Refresh checks it again.
    if (e instanceof APIError) e.what = 'check the key';
    checked = e;
  }
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#who').hidden = false;
  if (checked) fail(checked);
  else await load().catch(fail);
}

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const k = $('#key').value.trim();
    $('#key').value = '';
    if (k) signIn(k);
  });
  $('#refresh').addEventListener('click', () => start().catch(fail));
  $('#export').addEventListener('click', () => { $('#error').textContent = ''; exportCSV().catch(fail); });
  $('#range').addEventListener('change', () => start().catch(fail));
  $('#signout').addEventListener('click', () => {
    state.tenant = '';
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  if (key()) signIn(key());
});
