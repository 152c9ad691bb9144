// Measures the dashboard's tables in headless Chromium at a given window
// width and prints what it found as JSON; the Go test
// TestLayoutInChromium (internal/dashboard) serves the page with a fake
// admin API of long names and large figures, runs this and checks it.
// Usage:
//   node layout.mjs URL ADMIN_KEY WIDTH TENANT [SCREENSHOT.png]
import { chromium } from 'playwright-core';

const [url, adminKey, width, tenant, shot] = process.argv.slice(2);
const out = { consoleErrors: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width), height: 900 } });
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => out.consoleErrors.push(String(e)));
  await page.goto(url + '/dashboard/');
  await page.fill('#key', adminKey);
  await page.click('#signin');
  await page.waitForSelector('body[data-loaded]');
  await page.click(`#tenants tbody tr[data-tenant="${tenant}"]`);
  await page.waitForSelector('#keys tbody tr');

  // table: whether it fits its box (no sideways scrolling) and where each
  // heading's right edge is against the window's.
  const table = (sel) => page.$eval(sel, (t) => {
    const box = t.parentElement;
    return {
      fits: box.scrollWidth <= box.clientWidth,
      windowWidth: document.documentElement.clientWidth,
      headings: [...t.querySelectorAll('thead th')].map((th) => ({ text: th.textContent, right: Math.round(th.getBoundingClientRect().right) })),
    };
  });
  out.tenants = await table('#tenants');
  out.keys = await table('#keys');
  // labels: every clipped name, whether it is cut and what its title says.
  out.labels = await page.$$eval('.clip', (els) => els.map((e) => ({
    text: e.textContent, title: e.title, cut: e.scrollWidth > e.clientWidth, width: Math.round(e.getBoundingClientRect().width),
  })));
  if (shot) await page.screenshot({ path: shot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
