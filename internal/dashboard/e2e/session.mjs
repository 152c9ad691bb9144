// Drives the dashboard in headless Chromium through one scenario of a
// signed-in session going wrong (a key refused, the store down, answers
// arriving out of order) and prints what the page showed as JSON; the Go
// test TestSessionInChromium (internal/dashboard) serves the page with a
// fake admin API it steers through /test/… (revoke, down, up, hold,
// release, state), runs this and checks the output. Usage:
//   node session.mjs URL SCENARIO
import { chromium } from 'playwright-core';

const [url, scenario] = process.argv.slice(2);
const out = { consoleErrors: [] };
const DEADLINE = 10000;

// control steers the fake admin API.
const control = async (what) => {
  const resp = await fetch(url + '/test/' + what, { method: 'POST' });
  if (!resp.ok) throw new Error('/test/' + what + ': ' + resp.status);
  return resp.json();
};

// until polls f until it returns true, failing after the deadline.
const until = async (what, f) => {
  const end = Date.now() + DEADLINE;
  for (;;) {
    if (await f()) return;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(DEADLINE);
  page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => out.consoleErrors.push(String(e)));

  const signIn = async (key) => {
    await page.fill('#key', key);
    await page.click('#signin');
  };
  const loaded = async () => {
    await page.waitForSelector('body[data-loaded]');
  };
  // settled: no load under way (those whose answers are dropped included).
  const settled = () => page.waitForFunction(() => document.body.dataset.pending === '0');
  const view = async () => ({
    loginVisible: await page.isVisible('#login'),
    appVisible: await page.isVisible('#app'),
    loginError: await page.textContent('#login-error'),
    appError: await page.textContent('#error'),
    keyStored: await page.evaluate(() => sessionStorage.length > 0),
    whoami: await page.textContent('#whoami'),
    range: await page.$eval('#range', (s) => s.value),
    requests: await page.textContent('#total-requests'),
    cost: await page.textContent('#total-cost'),
    chartNote: await page.$eval('#chart', (c) => (c.querySelector('#chart-note') || {}).textContent || ''),
    tenantRows: await page.$$eval('#tenants tbody tr', (rows) => rows.length),
    selected: await page.$$eval('#tenants tbody tr.selected', (rows) => rows.map((r) => r.dataset.tenant)),
    keysTitle: await page.textContent('#keys-title'),
    keyRows: await page.$$eval('#keys tbody tr', (rows) => rows.map((r) => r.dataset.key)),
  });
  // refused: signed out, or (as before audit AA) an error shown in the page.
  const refused = () => page.waitForFunction(() => !document.querySelector('#login').hidden ||
    document.querySelector('#error').textContent !== '');
  const anError = () => page.waitForFunction(() => document.querySelector('#error').textContent !== '' ||
    document.querySelector('#login-error').textContent !== '');

  await page.goto(url + '/dashboard/');
  // The browser logs refused and failed calls as failed resources: expected.
  const expected = (e) => /status of (401|403|503)/.test(e);

  switch (scenario) {
    // A key refused after sign-in (revoked, rotated): the next Refresh, period
    // change or tenant click signs out after one refused call.
    case 'refused-refresh':
    case 'refused-range':
    case 'refused-tenant': {
      await signIn('adm-key');
      await loaded();
      await control('revoke');
      if (scenario === 'refused-refresh') await page.click('#refresh');
      if (scenario === 'refused-range') await page.selectOption('#range', '7d');
      if (scenario === 'refused-tenant') await page.click('#tenants tbody tr[data-tenant="acme"]');
      await refused();
      out.after = await view();
      // Signing in again (a new key) shows that key's figures.
      if (!out.after.loginVisible) break;
      await control('unrevoke');
      await signIn('adm-key');
      await loaded();
      out.again = await view();
      break;
    }
    // The store down at a reload: the key is kept and the error shown;
    // Refresh, once the store is back, loads the page.
    case 'down-reload': {
      await signIn('adm-key');
      await loaded();
      await control('down');
      await page.reload();
      await anError();
      out.after = await view();
      if (!out.after.appVisible) break;
      await control('up');
      await page.click('#refresh');
      await loaded();
      out.again = await view();
      break;
    }
    // The store down at sign-in, with a tenant admin's key, which the
    // key store must check: the key is kept, and Refresh checks it again.
    case 'down-signin': {
      await control('down');
      await signIn('ten-key');
      await anError();
      out.after = await view();
      if (!out.after.appVisible) break;
      await control('up');
      await page.click('#refresh');
      await loaded();
      out.again = await view();
      break;
    }
    // A failed CSV export shows the admin API's message.
    case 'export-down': {
      await signIn('adm-key');
      await loaded();
      await control('down');
      await page.click('#export');
      await anError();
      out.after = await view();
      break;
    }
    // 30 days picked, then 24 hours before the 30 days' answers arrive:
    // the page shows the 24 hours' figures once the 30 days' come.
    case 'stale-period': {
      await signIn('adm-key');
      await loaded();
      await control('hold?what=30d');
      await page.selectOption('#range', '30d');
      await until('the 30 days\' usage calls', async () => (await control('state')).held > 0);
      await page.evaluate(() => { delete document.body.dataset.loaded; });
      await page.selectOption('#range', '24h');
      await loaded();
      out.before = await view();
      await control('release');
      await settled();
      out.after = await view();
      break;
    }
    // acme clicked, then beta before acme's keys arrive: beta's keys stay.
    case 'stale-tenant': {
      await signIn('adm-key');
      await loaded();
      await control('hold?what=acme');
      await page.click('#tenants tbody tr[data-tenant="acme"]');
      await until('acme\'s keys call', async () => (await control('state')).held > 0);
      await page.click('#tenants tbody tr[data-tenant="beta"]');
      await page.waitForSelector('#keys tbody tr[data-key="key_beta"]');
      out.before = await view();
      await control('release');
      await settled();
      out.after = await view();
      break;
    }
    default:
      throw new Error('no scenario ' + scenario);
  }
  out.consoleErrors = out.consoleErrors.filter((e) => !expected(e));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
