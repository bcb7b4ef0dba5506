// Opens a page written by `powermem graph export --format html` in the system's headless
// Chromium and reports what it drew, for tests/integration/test_browser.py:
//   node graph_page.mjs page.html chromium-path screenshot.png  ->  one JSON line on stdout
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [page_file, executable, screenshot] = process.argv.slice(2);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'powermem-graph-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: executable, headless: true, viewport: { width: 1100, height: 700 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const errors = [];
const requests = [];
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
  await page.goto('file://' + path.resolve(page_file));
  await page.waitForSelector('body[data-settled=true]', { timeout: 60000 });
  // Count the canvas pixels that are not background: the graph was really drawn.
  const inked = await page.evaluate(() => {
    const c = document.getElementById('view');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) n++; }
    return n;
  });
  const stats = await page.textContent('#stats');
  await page.screenshot({ path: screenshot });
  process.stdout.write(JSON.stringify({ errors, requests, inked, stats }) + '\n');
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
