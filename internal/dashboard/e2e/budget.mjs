// Draws budget cells in headless Chromium with the dashboard's own
// budgetCell and prints their text and class as JSON; the Go test
// TestBudgetCellInChromium (internal/dashboard) serves the page, runs this
// with its cases and checks them. Usage:
//   node budget.mjs URL '[[SPENT, BUDGET], …]'
import { chromium } from 'playwright-core';

const [url, cases] = process.argv.slice(2);
const out = { consoleErrors: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => out.consoleErrors.push(String(e)));
  await page.goto(url + '/dashboard/');
  out.cells = await page.evaluate((cases) => cases.map(([spent, budget]) => {
    const tr = document.createElement('tr');
    budgetCell(tr, spent, budget); // eslint-disable-line no-undef
    const td = tr.querySelector('td');
    return { text: td.querySelector('.text').textContent, cls: td.className };
  }), JSON.parse(cases));
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
