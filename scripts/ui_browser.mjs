// The browser half of scripts/ui.py: Chromium (the Debian package), driven with playwright-core.
//
//     node scripts/ui_browser.mjs BASE_URL
//
// Reads one JSON command a line on stdin and answers each with one JSON line on stdout:
// {"ok": true, ...} or {"ok": false, "error": "..."}. Two people browse: alice (whoever runs
// `ferry serve`) and mallory, whose requests carry `X-Ferry-As: mallory` (the local server's
// way to name another actor; a real browser never sends it). Each has one page.

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const base = process.argv[2];
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
const problems = []; // uncaught errors and console errors of the pages
const pages = {};
for (const [who, headers] of [['alice', {}], ['mallory', { 'X-Ferry-As': 'mallory' }]]) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light', extraHTTPHeaders: headers });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`${who}: ${error.message}`));
  page.on('console', (message) => {
    // A refused action is a 4xx response, which Chromium logs; the page shows it, as it should.
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`${who}: ${message.text()}`);
  });
  pages[who] = page;
}

/** The page's load as the browser timed it (Navigation and Resource Timing). */
const timing = (page) => page.evaluate(() => {
  const [nav] = performance.getEntriesByType('navigation');
  const resources = performance.getEntriesByType('resource');
  const list = resources.find((r) => r.name.includes('/api/overview'));
  return { domContentLoadedMs: nav.domContentLoadedEventEnd, loadMs: nav.loadEventEnd,
    listAnsweredMs: list?.responseEnd, listRequestMs: list?.duration,
    transferredBytes: resources.reduce((sum, r) => sum + r.transferSize, nav.transferSize) };
});

const deploymentRow = (id) => `tr[data-href="/deployments/${encodeURIComponent(id)}"]`;

const commands = {
  /** Opens the list and measures its load in the browser; `id`'s row must be in flight. */
  async list({ id, who = 'alice' }) {
    const page = pages[who];
    await page.goto(`${base}/`);
    await page.locator(`${deploymentRow(id)}.inflight`).waitFor({ timeout: 10000 });
    const cold = await timing(page);
    await page.reload();
    await page.locator(`${deploymentRow(id)}.inflight`).waitFor({ timeout: 10000 });
    const group = await page.locator(deploymentRow(id)).evaluate((row) => row.closest('tbody').querySelector('.group th').textContent);
    return { cold, warm: await timing(page), group: group.trim(), row: (await page.locator(deploymentRow(id)).innerText()).replace(/\s+/g, ' ') };
  },
  /** Opens a page (a path) and waits for `selector`. */
  async open({ who = 'alice', path, selector = 'main h1' }) {
    await pages[who].goto(`${base}${path}`);
    await pages[who].locator(selector).first().waitFor({ timeout: 10000 });
    return {};
  },
  /** Waits until the deployment page shows green at `value` percent (from the load balancer). */
  async waitGreen({ who = 'alice', value, timeout = 30000 }) {
    const started = Date.now();
    await pages[who].locator(`#d-traffic[data-green="${value}"]`).waitFor({ timeout });
    return { waitedMs: Date.now() - started, shown: await pages[who].locator('#green-percent').innerText() };
  },
  /** Sets a marker on `window`: a reload or a navigation would lose it. */
  async mark({ who = 'alice' }) {
    await pages[who].evaluate(() => { window.ferryMarker = 'still here'; });
    return {};
  },
  async marked({ who = 'alice' }) {
    return { marked: await pages[who].evaluate(() => window.ferryMarker === 'still here') };
  },
  /** Clicks the button labelled exactly `label`, answers the dialog, waits for the page's notice. */
  async act({ who = 'alice', label, reason }) {
    const page = pages[who];
    await page.locator('#d-notice').evaluate((el) => { el.replaceChildren(); el._html = ''; });
    await page.getByRole('button', { name: label, exact: true }).click({ timeout: 10000 });
    const dialog = page.locator('dialog#confirm[open]');
    await dialog.waitFor({ timeout: 5000 });
    const question = await dialog.locator('h2').innerText();
    if (reason) await dialog.getByRole('textbox').fill(reason);
    const started = Date.now();
    await dialog.getByRole('button', { name: 'Confirm', exact: true }).click();
    const notice = page.locator('#d-notice .notice');
    await notice.waitFor({ timeout: 10000 });
    return {
      question, answeredMs: Date.now() - started, dialogClosed: !(await dialog.count()),
      done: (await notice.getAttribute('class')).includes('ok'), refusal: await notice.getAttribute('data-refusal'),
      text: (await notice.locator('.text').innerText()).trim(),
    };
  },
  /** Waits until the deployment page's state badge reads `label`. */
  async waitState({ who = 'alice', label, timeout = 60000 }) {
    const started = Date.now();
    await pages[who].locator('#d-head .badge', { hasText: label }).waitFor({ timeout });
    return { waitedMs: Date.now() - started };
  },
  /** What the deployment page shows now. */
  async read({ who = 'alice' }) {
    const page = pages[who];
    return page.evaluate(() => ({
      state: document.querySelector('#d-head .badge')?.textContent,
      green: document.querySelector('#d-traffic')?.dataset.green,
      buttons: [...document.querySelectorAll('#d-act:not([hidden]) button')].map((b) => b.textContent),
      timeline: [...document.querySelectorAll('#d-timeline li')].map((li) => li.querySelector('.what').textContent),
    }));
  },
  /** A screenshot of the page at 1280x800, after `selector` shows (a path opens it first). */
  async shot({ who = 'alice', path, file, selector }) {
    const page = pages[who];
    if (path) await page.goto(`${base}${path}`);
    if (selector) await page.locator(selector).first().waitFor({ timeout: 10000 });
    await page.evaluate(() => document.activeElement?.blur());
    await page.mouse.move(0, 0);
    await page.waitForTimeout(300); // the weight bar's transition
    await page.screenshot({ path: file });
    return {};
  },
  async problems() { return { problems }; },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { command, ...args } = JSON.parse(line);
  let answer;
  try {
    answer = { ok: true, ...(await commands[command](args)) };
  } catch (error) {
    answer = { ok: false, error: `${command}: ${error.message.split('\n')[0]}` };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await browser.close();
