// End-to-end: the built UI in headless Chromium (fake webcam = the demo video) against the real
// API process with the project's example model. Every test saves a screenshot to test-results/.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RESULTS, TOKEN, screenshotPath, setModel, sleep, startStack, windowModelFile } from './harness.mjs';
import { CLASSES, openPage as openUi, skeletonPixels, stat, waitFor, waitForClassification } from './page.mjs';

let stack;
/** The Diagnostics figures of pose in the page. */
const POSE_STATS = ['pose-fps', 'inference', 'main-thread', 'long-tasks', 'skipped'];
/** The classes of scripts/make_window_model.py's models. */
const WINDOW_CLASSES = ['Failure Weight Transfer', 'Successful Weight Transfer'];

/** Records what the page writes to a fake Web Bluetooth device (window.__bluetooth). */
function fakeBluetooth() {
  const log = { requests: [], writes: [] };
  window.__bluetooth = log;
  const record = (value) => {
    const view = ArrayBuffer.isView(value) ? value : new Uint8Array(value);
    log.writes.push({
      bytes: Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)),
      at: Date.now(),
    });
  };
  const characteristic = {
    properties: { write: true, writeWithoutResponse: true },
    writeValueWithoutResponse: async (value) => record(value),
    writeValueWithResponse: async (value) => record(value),
  };
  const gatt = {
    connected: false,
    async connect() {
      gatt.connected = true;
      return gatt;
    },
    disconnect() {
      gatt.connected = false;
    },
    async getPrimaryService(uuid) {
      log.requests.push({ service: uuid });
      return {
        async getCharacteristic(id) {
          log.requests.push({ characteristic: id });
          return characteristic;
        },
      };
    },
  };
  const device = { id: 'fake-hm10', name: 'HMSoft (fake)', gatt, addEventListener() {}, removeEventListener() {} };
  Object.defineProperty(Navigator.prototype, 'bluetooth', {
    configurable: true,
    get: () => ({
      async requestDevice(options) {
        log.requests.push({ requestDevice: JSON.parse(JSON.stringify(options)) });
        return device;
      },
    }),
  });
}

function noBluetooth() {
  delete Navigator.prototype.bluetooth;
}

function openPage(options) {
  return openUi(stack, options);
}

/** Runs `body(page)`, then saves the page's screenshot as `name` whether it passed or not. */
async function withPage(name, options, body) {
  const page = await openPage(options);
  try {
    await body(page);
  } finally {
    await page.screenshot({ path: screenshotPath(name), fullPage: true }).catch(() => undefined);
    await page.context().close();
  }
}

describe('web UI against the live API', { timeout: 300_000 }, () => {
  before(async () => {
    stack = await startStack();
  });

  after(async () => {
    await stack?.close();
  });

  test('a refused upload shows the API error message', async () => {
    await withPage('01-upload-errors', { initScript: noBluetooth, start: false }, async (page) => {
      const upload = page.getByRole('button', { name: 'Upload model' });
      const message = page.getByRole('alert', { name: 'Model message' });
      // no token: the API's 401 message
      await page.getByLabel('Model file').setInputFiles(stack.modelFile);
      await upload.click();
      await message.waitFor();
      assert.match(await message.innerText(), /valid API token is required/);
      const times = (text, name) => text.split(name).length - 1;
      assert.equal(times(await message.innerText(), basename(stack.modelFile)), 1, 'the file is named once');

      // a file that is not a model: the API's own message, as the API sends it
      const junk = {
        name: 'not-a-model.pkl',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('hello, not a pickle'),
      };
      const form = new FormData();
      form.append('file', new Blob([junk.buffer]), junk.name);
      const direct = await fetch(`${stack.api.url}/set_model`, {
        method: 'POST',
        body: form,
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      const expected = (await direct.json()).error.message;
      assert.equal(direct.status, 422);
      await page.getByLabel('API token').fill(TOKEN);
      await page.getByLabel('Model file').setInputFiles(junk);
      await upload.click();
      await waitFor(async () => /not a readable pickle/.test(await message.innerText()), {
        what: "the API's message on the file",
      });
      // the file named once, in plain words: not "not-a-model.pkl: not-a-model.pkl: ..." (the
      // page naming it again), and no folder of the server's
      const shown = (await message.innerText()).trim();
      assert.match(shown, /^not-a-model\.pkl: not a readable pickle or joblib file/);
      assert.equal(times(shown, 'not-a-model.pkl'), 1, `the file is named once: "${shown}"`);
      assert.doesNotMatch(shown, /\/|\.incoming/, 'no server path in the message');
      assert.equal(shown, expected, "the API's own message");
      assert.equal(await page.getByRole('table', { name: 'Stored models' }).count(), 0);

      // and this browser has no Web Bluetooth: the panel says so
      const bluetooth = page.getByRole('region', { name: 'Bluetooth device' });
      const why = await bluetooth.getByRole('alert').first().innerText();
      assert.match(why, /no Web Bluetooth/);
      // headless Chromium on Linux: the flag that turns Web Bluetooth on, not "use Chrome"
      assert.match(why, /chrome:\/\/flags\/#enable-experimental-web-platform-features/);
      assert.equal(await page.getByRole('button', { name: 'Connect a device' }).isDisabled(), true);
    });
  });

  test('uploading a model through the form makes it active', async () => {
    await withPage('02-upload-model', {}, async (page) => {
      await page.getByLabel('API token').fill(TOKEN);
      await page.getByLabel('Window size (frames)').fill('');
      await page.getByLabel('Model file').setInputFiles(stack.modelFile);
      await page.getByRole('button', { name: 'Upload model' }).click();
      const message = page.getByRole('status', { name: 'Model message' });
      await message.waitFor({ timeout: 60_000 });
      assert.match(await message.innerText(), /^StreamPoseML Ready: classifier set to arms_raised\.zip/);
      const row = page.getByRole('table', { name: 'Stored models' }).getByRole('row', { name: /arms_raised\.zip/ });
      await row.getByText('active').waitFor();
      assert.match(await row.innerText(), /Arms Lowered, Arms Raised/);
      const models = await (await fetch(`${stack.api.url}/models`)).json();
      assert.equal(models.active.model_id, models.models[0].id);
      await waitForClassification(page); // the live session follows the new model
    });
  });

  test('pose runs in the page, keypoints reach the server, classifications come back', async () => {
    await withPage('03-live-classification', {}, async (page) => {
      await page.getByLabel('Pose status').getByText('running').waitFor({ timeout: 60_000 });
      const pixels = await waitFor(async () => ((await skeletonPixels(page)) > 500 ? skeletonPixels(page) : 0), {
        what: 'the skeleton on the canvas',
      });
      const label = await waitForClassification(page);
      const framesIn = await stack.api.metric('stream_pose_ml_frames_in_total');
      const classifications = await stack.api.metric('stream_pose_ml_classifications_total');
      assert.ok(
        framesIn > 0 && classifications > 0,
        `server counters: frames_in ${framesIn}, classifications ${classifications}`,
      );
      const probabilities = await page.getByRole('list', { name: 'Class probabilities' }).innerText();
      for (const name of CLASSES) assert.ok(probabilities.includes(name), `probability of ${name} shown`);

      // in-browser pose rate with the full model on the CPU delegate: pose results per second
      // (each is sent: the example model's stride is 1, so one frame per binary message) over 10 s
      const sent0 = Number(await stat(page, 'frames-sent'));
      const t0 = Date.now();
      await sleep(10_000);
      const sent1 = Number(await stat(page, 'frames-sent'));
      const fps = ((sent1 - sent0) * 1000) / (Date.now() - t0);
      const mainThread = await stat(page, 'main-thread');
      const inference = await stat(page, 'inference');
      const longTasks = await stat(page, 'long-tasks');
      const latency = await stat(page, 'latency');
      const benchmark = {
        fps,
        inference,
        mainThread,
        longTasks,
        latency,
        model: 'full',
        delegate: 'CPU',
        source: '640x360 Y4M at 30 fps',
      };
      await writeFile(join(RESULTS, 'pose-benchmark.json'), `${JSON.stringify(benchmark, null, 2)}\n`);
      console.log(
        `in-browser pose (full, CPU delegate, worker, 640x360 fake webcam at 30 fps): ${fps.toFixed(1)} fps; ` +
          `inference ${inference}, main thread per frame ${mainThread}, long tasks ${longTasks}, server latency ${latency}; ` +
          `label ${label}, ${pixels} skeleton pixels`,
      );
      assert.ok(fps > 3, `pose rate ${fps.toFixed(1)} fps`);
      assert.ok(parseFloat(mainThread) < 16, `main thread per frame ${mainThread}: pose must not block the page`);
    });
  });

  test('Bluetooth writes the mapped bytes on a change of classification', async () => {
    await withPage('04-bluetooth', { initScript: fakeBluetooth }, async (page) => {
      await waitForClassification(page);
      // the positive class (a binary model's second class) writes "a" by default
      assert.equal(await page.getByLabel('Bytes for Arms Raised').inputValue(), 'a');
      await page.getByLabel('Bytes for Arms Lowered').fill('b\\x0a');
      await page.getByLabel('Debounce (ms)').fill('100');
      await page.getByRole('button', { name: 'Connect a device' }).click();
      await page.getByLabel('Bluetooth status').getByText('Connected to HMSoft (fake)').waitFor();
      const log = await waitFor(
        async () => {
          const current = await page.evaluate(() => window.__bluetooth);
          return current.writes.length >= 3 ? current : null;
        },
        { timeout: 40_000, what: 'three Bluetooth writes' },
      );
      assert.deepEqual(log.requests.slice(0, 3), [
        { requestDevice: { acceptAllDevices: true, optionalServices: ['0000ffe0-0000-1000-8000-00805f9b34fb'] } },
        { service: '0000ffe0-0000-1000-8000-00805f9b34fb' },
        { characteristic: '0000ffe1-0000-1000-8000-00805f9b34fb' },
      ]);
      const a = [0x61];
      const bNewline = [0x62, 0x0a];
      for (const write of log.writes)
        assert.ok(
          [a, bNewline].some((bytes) => JSON.stringify(bytes) === JSON.stringify(write.bytes)),
          `wrote ${write.bytes}`,
        );
      for (let i = 1; i < log.writes.length; i++) {
        assert.notDeepEqual(
          log.writes[i].bytes,
          log.writes[i - 1].bytes,
          'a write happens only on a change of classification',
        );
      }
      const shown = await page.getByRole('list', { name: 'Bluetooth writes' }).innerText();
      assert.match(shown, /Arms Raised → 61/);
      assert.match(shown, /Arms Lowered → 62 0a/);
      // the settings persist in the browser
      const saved = JSON.parse(await page.evaluate(() => localStorage.getItem('spml.bluetooth')));
      assert.equal(saved.mapping['Arms Lowered'], 'b\\x0a');
      assert.equal(saved.debounceMs, 100);
    });
  });

  test("sending images instead of keypoints: the server runs pose, and the page's pose figures do not stay", async () => {
    await withPage('05-send-images', {}, async (page) => {
      const poseFigures = async () => {
        const figures = {};
        for (const name of POSE_STATS) figures[name] = await stat(page, name);
        return figures;
      };
      const noPoseFigures = async () => Object.values(await poseFigures()).every((value) => value === '–');
      // pose in the page first: it has figures of its own
      await waitFor(async () => / ms$/.test(await stat(page, 'inference')), { timeout: 60_000, what: 'pose figures' });
      const before = await poseFigures();
      await page.getByLabel('Send images to the server instead of keypoints').check();
      await waitFor(async () => Number(await stat(page, 'frames-sent')) >= 20, {
        timeout: 60_000,
        what: '20 images sent',
      });
      await waitForClassification(page);
      assert.equal(await skeletonPixels(page), 0, 'no skeleton is drawn when the server runs pose');
      // the server runs pose now: "Pose inference" and "Skipped (pose busy)" do not keep the
      // page's last values
      assert.deepEqual(
        await poseFigures(),
        Object.fromEntries(POSE_STATS.map((name) => [name, '–'])),
        `pose figures while images are sent (before: ${JSON.stringify(before)})`,
      );

      // back to pose in the page, then Pause: no input, and no figures of the last frames
      await page.getByLabel('Send images to the server instead of keypoints').uncheck();
      await waitFor(async () => / ms$/.test(await stat(page, 'inference')), { timeout: 60_000, what: 'pose figures' });
      await page.getByRole('button', { name: 'Pause' }).click();
      await waitFor(noPoseFigures, { timeout: 2000, what: 'no pose figures while paused' });
      await sleep(1000);
      assert.ok(await noPoseFigures(), `pose figures while paused: ${JSON.stringify(await poseFigures())}`);
    });
  });

  test('a local video file plays in the page and is classified', async () => {
    await withPage('06-local-video', {}, async (page) => {
      await page.getByLabel('Local video').check();
      await page.getByLabel('Video file').setInputFiles(stack.demoVideo);
      await waitFor(async () => (await skeletonPixels(page)) > 500, { what: 'the skeleton over the video file' });
      await waitForClassification(page);
      await waitFor(async () => parseFloat(await stat(page, 'pose-fps')) >= 5, { what: 'pose at 5 fps or more' });
      const size = await page.getByLabel('Video', { exact: true }).evaluate((v) => [v.videoWidth, v.videoHeight]);
      assert.deepEqual(size, [1768, 994]);
    });
  });

  test('the server going away shows the disconnected state, and the page recovers', async () => {
    const page = await openPage();
    const status = page.getByRole('status', { name: 'Connection status' });
    try {
      await waitForClassification(page);
      await stack.api.stop();
      await waitFor(async () => /Server unreachable/.test(await status.innerText()), { what: '"Server unreachable"' });
      await page.getByText('Last result before the connection was lost.').waitFor();
      await page.screenshot({ path: screenshotPath('07-server-unreachable'), fullPage: true });

      await stack.api.start();
      await waitFor(async () => /^Connected to/.test(await status.innerText()), {
        timeout: 30_000,
        what: 'reconnection',
      });
      const sent = Number(await stat(page, 'frames-sent'));
      await waitFor(async () => (await stack.api.metric('stream_pose_ml_classifications_total')) > 0, {
        what: 'classifications on the restarted server',
      });
      await waitFor(async () => Number(await stat(page, 'frames-sent')) > sent, { what: 'frames sent again' });
      await waitForClassification(page);
      await page.screenshot({ path: screenshotPath('08-server-recovered'), fullPage: true });
    } finally {
      await page.context().close();
    }
  });

  test("after a model switch the timeline keeps the earlier model's lines, colours and legend", async () => {
    const windowModel = await windowModelFile(stack.dataRoot, 5);
    await setModel(stack.api, windowModel); // stored,
    await setModel(stack.api, stack.modelFile); // and the example model active again
    await withPage('09-timeline-model-switch', {}, async (page) => {
      await waitForClassification(page);
      await sleep(2000); // the example model's results on the timeline
      await page.getByLabel('API token').fill(TOKEN);
      await page.getByRole('button', { name: `Activate ${basename(windowModel)}` }).click();
      await waitForClassification(page, { classes: WINDOW_CLASSES });
      await sleep(1000);
      const chart = await page.locator('figure.timeline').evaluate((figure) => {
        const probe = document.createElement('span');
        figure.append(probe);
        const rgb = (color) => {
          probe.style.color = color;
          return getComputedStyle(probe).color;
        };
        const legend = Object.fromEntries(
          [...figure.querySelectorAll('.legend-item')].map((item) => [
            item.textContent.trim(),
            rgb(item.querySelector('.swatch').style.background),
          ]),
        );
        const lines = [...figure.querySelectorAll('polyline')].map((line) => ({
          color: rgb(line.getAttribute('stroke')),
          points: line.getAttribute('points').trim().split(/\s+/).length,
        }));
        const bands = [...figure.querySelectorAll('rect[fill]')].map((rect) => ({
          label: rect.querySelector('title')?.textContent ?? null,
          color: rgb(rect.getAttribute('fill')),
          x: Number(rect.getAttribute('x')),
        }));
        probe.remove();
        return { legend, lines, bands };
      });
      const detail = JSON.stringify(chart);
      // both models' classes in the legend, each with a colour of its own
      assert.deepEqual(Object.keys(chart.legend).sort(), [...CLASSES, ...WINDOW_CLASSES].sort(), detail);
      assert.equal(new Set(Object.values(chart.legend)).size, 4, `four colours: ${detail}`);
      // the earlier period keeps its probability lines
      for (const name of [...CLASSES, ...WINDOW_CLASSES]) {
        const line = chart.lines.find((l) => l.color === chart.legend[name]);
        assert.ok(line && line.points >= 2, `a line of ${name} in its legend colour: ${detail}`);
      }
      // every band is in its label's legend colour (no unexplained black band), the earlier
      // model's first
      for (const band of chart.bands)
        assert.equal(band.color, chart.legend[band.label], `band ${band.label}: ${detail}`);
      const earlier = chart.bands.filter((b) => CLASSES.includes(b.label));
      const later = chart.bands.filter((b) => WINDOW_CLASSES.includes(b.label));
      assert.ok(earlier.length > 0 && later.length > 0, `bands of both models: ${detail}`);
      assert.ok(Math.max(...earlier.map((b) => b.x)) < Math.min(...later.map((b) => b.x)), detail);
      await page.locator('figure.timeline').screenshot({ path: screenshotPath('09-timeline') });
    });
  });
});
