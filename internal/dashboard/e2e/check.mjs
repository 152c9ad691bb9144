// Drives the dashboard in headless Chromium and prints what it saw as JSON;
// the Go test TestDashboardInChromium (internal/app) starts the gateway,
// runs this and checks the output. Usage:
//   node check.mjs URL ADMIN_KEY TENANT_ADMIN_KEY SCREENSHOT.png
import { chromium } from 'playwright-core';

const [url, adminKey, tenantKey, shot] = process.argv.slice(2);
const out = { consoleErrors: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => out.consoleErrors.push(String(e)));

  const signIn = async (key) => {
    await page.fill('#key', key);
    await page.click('#signin');
  };
  const readTenants = () => page.$$eval('#tenants tbody tr', (rows) => rows.map((tr) => ({
    id: tr.dataset.tenant,
    label: tr.querySelector('.tenant').textContent,
    requests: tr.querySelector('.requests').textContent,
    errors: tr.querySelector('.errors').textContent,
    cacheHits: tr.querySelector('.cache-hits').textContent,
    cachedInput: tr.querySelector('.cached-input').textContent,
    cost: tr.querySelector('.cost').textContent,
    budgets: [...tr.querySelectorAll('.budget')].map((b) => ({ text: b.textContent, cls: b.className })),
  })));

  const resp = await page.goto(url + '/dashboard/');
  out.csp = resp.headers()['content-security-policy'] || '';

  // A key that is not an admin key is refused with a message.
  await signIn('sk-not-an-admin-key');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent !== '');
  out.badKeyError = await page.textContent('#login-error');
  out.appHiddenAfterBadKey = await page.isHidden('#app');
  // The browser logs the refused call (401) as a failed resource: expected.
  out.consoleErrors = out.consoleErrors.filter((e) => !e.includes('status of 401'));

  // The global admin sees every tenant.
  await signIn(adminKey);
  await page.waitForSelector('body[data-loaded]');
  out.whoami = await page.textContent('#whoami');
  out.totals = {
    requests: await page.textContent('#total-requests'),
    cost: await page.textContent('#total-cost'),
    cacheHits: await page.textContent('#total-cache-hits'),
    errors: await page.textContent('#total-errors'),
  };
  out.tenants = await readTenants();
  out.chartBars = await page.$$eval('#chart rect', (r) => r.length);
  // Selecting a tenant lists its keys with their usage.
  await page.click('#tenants tbody tr[data-tenant="acme"]');
  await page.waitForSelector('#keys tbody tr');
  out.acmeKeys = await page.$$eval('#keys tbody tr', (rows) => rows.map((tr) => ({
    id: tr.dataset.key,
    requests: tr.querySelector('.requests').textContent,
    budgets: [...tr.querySelectorAll('.budget')].map((b) => b.textContent),
  })));
  out.keysTitle = await page.textContent('#keys-title');
  out.routes = await page.$$eval('#routes tbody tr', (rows) => rows.map((tr) => [...tr.children].map((td) => td.textContent)));
  out.storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }));
  // Another period reloads the same figures (all traffic is recent).
  await page.evaluate(() => { delete document.body.dataset.loaded; });
  await page.selectOption('#range', '7d');
  await page.waitForSelector('body[data-loaded]');
  out.totals7d = await page.textContent('#total-requests');
  // The CSV export downloads every record of the period.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  out.exportName = download.suggestedFilename();
  const stream = await download.createReadStream();
  let csv = '';
  for await (const chunk of stream) csv += chunk;
  out.exportLines = csv.trim().split('\n');
  if (shot) await page.screenshot({ path: shot, fullPage: true });

  await page.click('#signout');
  await page.waitForSelector('#login', { state: 'visible' });
  out.storageAfterSignOut = await page.evaluate(() => sessionStorage.length);

  // A tenant admin sees its own tenant only.
  await signIn(tenantKey);
  await page.waitForSelector('body[data-loaded]');
  out.tenantWhoami = await page.textContent('#whoami');
  out.tenantView = await readTenants();
  out.tenantKeys = await page.$$eval('#keys tbody tr', (rows) => rows.map((tr) => tr.dataset.key));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
