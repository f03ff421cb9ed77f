// In-browser pose rate in headless Chromium, per pose model, on the CPU delegate (run on demand:
// `npm run build && npm run bench:pose [seconds]`). The fake webcam plays the demo video at
// 640x360, 30 fps; no API runs, so the numbers are the page's own. Prints a Markdown table and
// writes test-results/pose-benchmark-models.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { RESULTS, fakeWebcamFile, freePort, launchBrowser, sleep, WEB_UI } from './harness.mjs';
import { serveStatic } from './static-server.mjs';

const seconds = Number(process.argv[2] ?? 15);
const web = await serveStatic(join(WEB_UI, 'dist'));
const nothingListens = await freePort();
const browser = await launchBrowser(await fakeWebcamFile());
const rows = [];
try {
  for (const model of ['lite', 'full', 'heavy']) {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${web.address().port}/?api=http://127.0.0.1:${nothingListens}`);
    await page.getByLabel('Pose model').selectOption(model);
    await page.getByLabel('Pose status').getByText('running').waitFor({ timeout: 120_000 });
    await sleep(3000); // warm-up
    const read = async (name) => parseFloat(await page.locator(`[data-stat="${name}"]`).innerText());
    const samples = [];
    for (let t = 0; t < seconds; t++) {
      await sleep(1000);
      samples.push({
        fps: await read('pose-fps'),
        inference: await read('inference'),
        main: await read('main-thread'),
      });
    }
    const mean = (key) => samples.reduce((sum, s) => sum + s[key], 0) / samples.length;
    rows.push({
      model,
      fps: +mean('fps').toFixed(1),
      inferenceMs: +mean('inference').toFixed(1),
      mainThreadMs: +mean('main').toFixed(2),
      longTasks: Number(await page.locator('[data-stat="long-tasks"]').innerText()),
    });
    await page.close();
  }
} finally {
  await browser.close();
  web.close();
}
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${loadavg()[0].toFixed(1)}`;
console.log(`In-browser pose, headless Chromium, CPU delegate, worker; ${seconds} s per model; ${machine}\n`);
console.log('| model | pose fps | inference (ms) | main thread per frame (ms) | long tasks |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.model} | ${r.fps} | ${r.inferenceMs} | ${r.mainThreadMs} | ${r.longTasks} |`);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'pose-benchmark-models.json'), `${JSON.stringify({ machine, seconds, rows }, null, 2)}\n`);
