// Browser check of the sluice live view:
//
//   node cmd/sluice/webview/e2e/screenshot.mjs URL OUT.png
//
// Opens URL in Debian's Chromium (CHROMIUM=/path overrides /usr/bin/chromium)
// through playwright-core, waits (up to 30 s) until at least one stage shows
// a non-zero records/s, checks that every stage of the pipeline (as
// /api/status lists them) is drawn and that the page logged no console
// error, and saves a screenshot. Exits 1 when a check fails.
import { chromium } from 'playwright-core';

const [url, out] = process.argv.slice(2);
if (!url || !out) {
  console.error('usage: node screenshot.mjs URL OUT.png');
  process.exit(2);
}
const WAIT_MS = Number(process.env.WAIT_MS || 30000);

function fail(msg) {
  console.error('webview check: FAIL: ' + msg);
  process.exitCode = 1;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 560 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => problems.push('request failed: ' + r.url() + ' ' + (r.failure()?.errorText ?? '')));
  page.on('response', (r) => { if (r.status() >= 400) problems.push('HTTP ' + r.status() + ' for ' + r.url()); });

  const resp = await page.goto(url, { waitUntil: 'load' });
  if (!resp || !resp.ok()) throw new Error('GET ' + url + ': ' + (resp ? resp.status() : 'no response'));
  const title = await page.title();
  if (!/^sluice · \S/.test(title)) fail('title is ' + JSON.stringify(title));

  // Wait for live numbers: some stage with records/s in > 0.
  let live = true;
  try {
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('#graph g.stage[data-in-rate]'))
        .some((g) => parseFloat(g.getAttribute('data-in-rate')) > 0),
    null, { timeout: WAIT_MS, polling: 250 });
  } catch (e) {
    live = false;
    fail(`no stage showed records/s > 0 within ${WAIT_MS / 1000}s`);
  }

  // Every stage of the pipeline is drawn, once, in the graph and the table.
  const status = await (await page.request.get(new URL('api/status', url).toString())).json();
  const want = status.stages.map((s) => s.name);
  const drawn = await page.$$eval('#graph g.stage', (gs) => gs.map((g) => g.getAttribute('data-stage')));
  const rows = await page.$$eval('#stages tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-stage')));
  for (const name of want) {
    if (drawn.filter((d) => d === name).length !== 1) fail(`stage ${name} is not drawn once in the graph (drawn: ${drawn.join(', ')})`);
    if (!rows.includes(name)) fail(`stage ${name} has no table row`);
  }
  if (drawn.length !== want.length) fail(`${drawn.length} stages drawn, the pipeline has ${want.length}`);
  const topics = await page.$$eval('#graph g.topic', (gs) => gs.map((g) => g.getAttribute('data-topic')));
  for (const t of status.topics) if (!topics.includes(t)) fail(`topic ${t} is not drawn`);
  const dashed = await page.$$eval('#graph path.edge.dlq', (ps) => ps.length);
  const dlqs = status.stages.filter((s) => s.dlq).length;
  if (dashed !== dlqs) fail(`${dashed} dashed DLQ edges for ${dlqs} stages with a DLQ`);

  // One more poll so the numbers on the screenshot are settled.
  if (live) await page.waitForTimeout(1200);
  const rates = await page.$$eval('#graph g.stage', (gs) => gs.map((g) =>
    `${g.getAttribute('data-stage')}: in ${g.getAttribute('data-in-rate')}/s out ${g.getAttribute('data-out-rate')}/s ` +
    `lag ${g.getAttribute('data-lag') || '?'} ready ${g.getAttribute('data-ready')}`));
  await page.screenshot({ path: out, fullPage: true });
  for (const p of problems) fail(p);
  console.log(`webview check: ${title}: ${want.length} stages, ${status.topics.length} topics drawn\n  ` + rates.join('\n  '));
  console.log(`webview check: screenshot in ${out}` + (process.exitCode ? '' : '; OK'));
} catch (e) {
  fail(e.message);
} finally {
  await browser.close();
}
