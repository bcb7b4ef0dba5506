// Drives Neo4j Browser in the system's headless Chromium (playwright-core; it never downloads
// a browser) for tests/integration/test_browser.py:
//   node browse.mjs plan.json  ->  one JSON line on stdout: what each step showed
//
// plan.json: {"http": "http://127.0.0.1:7474", "bolt": "127.0.0.1:7687", "username", "password",
//             "chromium": "/usr/bin/chromium", "style": "<GraSS text>" | null,
//             "commands": [":config autoComplete: false", ...],
//             "steps": [{"params": {"user_id": "alice"}, "query": "<Cypher>", "screenshot": "/path.png" | null}]}
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'powermem-browser-'));  // a fresh --user-data-dir

function oneLine(text) {
  // The editor runs what it holds; comments go and lines join, so typing needs no Shift+Enter.
  return text.split('\n').filter((l) => !l.trim().startsWith('//')).join(' ').replace(/\s+/g, ' ').trim();
}

async function connect(page) {
  await page.goto(`${plan.http}/browser/`, { waitUntil: 'load' });
  await page.waitForSelector('[data-testid=boltaddress]', { timeout: 30000 });
  await page.selectOption('select', 'bolt://');
  await page.fill('[data-testid=boltaddress]', plan.bolt);
  await page.fill('[data-testid=username]', plan.username);
  await page.fill('[data-testid=password]', plan.password);
  await page.click('[data-testid=connect]');
  await page.waitForSelector('text=/You are connected as user/', { timeout: 30000 });
}

async function run(page, command) {
  const before = await page.locator('[data-testid=frame]').count();
  await page.locator('[data-testid=activeEditor]').first().click();
  await page.keyboard.type(command);
  await page.click('[data-testid=editor-Run]');
  // The newest frame is the first one of the stream.
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=frame]').length > n, before,
    { timeout: 30000 });
  const frame = page.locator('[data-testid=frame]').first();
  if (!command.startsWith(':')) {
    // Done when it shows a graph (with its inspector) or a table (with its status bar).
    await frame.locator('[data-testid=vizInspector], [data-testid=frameStatusbar]').first()
      .waitFor({ timeout: 60000 });
  } else {
    await page.waitForTimeout(500);
  }
  return frame;
}

async function settle(page, frame) {
  // The graph view redraws while the layout and the style settle: wait for a steady,
  // non-zero number of drawn nodes (or give up after 30 s and report what is there).
  let last = -1;
  let steady = 0;
  for (let i = 0; i < 60 && steady < 4; i++) {
    const count = await frame.locator('svg g.node').count();
    steady = count > 0 && count === last ? steady + 1 : 0;
    last = count;
    await page.waitForTimeout(500);
  }
}

async function inspect(page, frame, step) {
  // A graph result gets its Graph tab a moment after the status bar on a busy machine; a
  // table-only result never does, hence the bounded wait.
  const graphTab = frame.locator('[data-testid=cypherFrameSidebarVisualization]');
  await graphTab.first().waitFor({ timeout: 20000 }).catch(() => {});
  if (await graphTab.count() > 0) {
    await settle(page, frame);
  }
  const shown = {
    nodes: await frame.locator('svg g.node').count(),
    relationships: await frame.locator('svg g.relationship').count(),
    nodeCaptions: await frame.locator('svg g.node text').allTextContents(),
    relationshipCaptions: await frame.locator('svg g.relationship text').allTextContents(),
    text: (await frame.innerText()).slice(0, 4000),
  };
  if (step.screenshot) {
    await frame.screenshot({ path: step.screenshot });
  }
  return shown;
}

const context = await chromium.launchPersistentContext(profile, {
  executablePath: plan.chromium, headless: true, args: FLAGS, viewport: { width: 1400, height: 900 },
});
const results = [];
try {
  const page = context.pages()[0] || await context.newPage();
  await connect(page);
  if (plan.style) {
    await run(page, ':style ' + oneLine(plan.style));
  }
  for (const command of plan.commands || []) {
    await run(page, command);
  }
  for (const step of plan.steps) {
    for (const [name, value] of Object.entries(step.params || {})) {
      await run(page, `:param ${name} => ${JSON.stringify(value).replace(/^"|"$/g, "'")}`);
    }
    const frame = await run(page, oneLine(step.query));
    results.push(await inspect(page, frame, step));
  }
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ steps: results }) + '\n');
