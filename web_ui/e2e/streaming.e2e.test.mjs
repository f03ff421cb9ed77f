// End-to-end: when the page streams and what it sends. Nothing is captured, sent or asked for
// before Start, and Pause stops the camera and the messages (the server's frame counter stops);
// Local video before a file is chosen sends nothing (no frame of size 0 x 0) and shows the empty
// state; after the API restarts mid-stream the page streams again with the same model and the
// same overlap, because every connect sends its full `configure` again. The page title names the
// live label and the model while streaming, and the Start/Pause test writes the screenshots of
// docs/example.md (docs/images/): idle, streaming with a result, Diagnostics open.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { docsScreenshot, screenshotPath, setModel, sleep, startStack, windowModelFile } from './harness.mjs';
import { DOCS_VIEWPORT, openPage, skeletonPixels, stat, waitFor, waitForClassification } from './page.mjs';

const FRAMES_IN = 'stream_pose_ml_frames_in_total';
/** index.html's title, and the page's whenever nothing is classified. */
const PLAIN_TITLE = 'StreamPoseML · live pose classification';
let stack;

/** Counts the page's camera requests (window.__cameraRequests). */
function countCameraRequests() {
  window.__cameraRequests = 0;
  const getUserMedia = MediaDevices.prototype.getUserMedia;
  MediaDevices.prototype.getUserMedia = function (...args) {
    window.__cameraRequests += 1;
    return getUserMedia.apply(this, args);
  };
}

/** Keypoints as JSON, one message per frame, each with its image size. */
function sendJson() {
  localStorage.setItem('spml.source', JSON.stringify({ sendMode: 'keypoints', keypointsFormat: 'json' }));
}

/** The JSON events the page sends and the `error`s it receives, over every connection. */
function recordEvents(page) {
  const log = { sent: [], errors: [] };
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      if (typeof payload !== 'string' || !payload.startsWith('42[')) return;
      const [event, body] = JSON.parse(payload.slice(2));
      log.sent.push({ event, body, at: Date.now() });
    });
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string' || !payload.startsWith('42[')) return;
      const [event, body] = JSON.parse(payload.slice(2));
      if (event === 'error') log.errors.push(body);
    });
  });
  return log;
}

/** The server's frame counter has not moved for `ms`; returns its value. */
async function framesInSteadyFor(ms) {
  const before = await stack.api.metric(FRAMES_IN);
  await sleep(ms);
  const after = await stack.api.metric(FRAMES_IN);
  assert.equal(after, before, `the server received ${after - before} frames in ${ms} ms`);
  return after;
}

async function withPage(name, options, body) {
  const page = await openPage(stack, options);
  try {
    await body(page);
  } finally {
    await page.screenshot({ path: screenshotPath(name), fullPage: true }).catch(() => undefined);
    await page.context().close();
  }
}

const label = (page) => page.getByRole('status', { name: 'Current label' });
const connectionStatus = (page) => page.getByRole('status', { name: 'Connection status' });
const sessionWindow = (page) => page.getByLabel('Session window');

describe('when the page streams, and what it sends', { timeout: 300_000 }, () => {
  before(async () => {
    stack = await startStack();
    await setModel(stack.api, stack.modelFile);
  });

  after(async () => {
    await stack?.close();
  });

  test('no camera and no frames before Start; Pause stops the camera and the messages; the title says what runs', async () => {
    const options = { initScript: countCameraRequests, start: false, viewport: DOCS_VIEWPORT };
    await withPage('10-start-pause', options, async (page) => {
      await waitFor(async () => /^Connected to/.test(await connectionStatus(page).innerText()), { what: 'connected' });
      await page.getByRole('table', { name: 'Stored models' }).waitFor();
      await framesInSteadyFor(3000);
      assert.equal(await page.evaluate(() => window.__cameraRequests), 0, 'the camera is not asked for before Start');
      assert.equal(await page.getByLabel('Video', { exact: true }).evaluate((v) => v.srcObject), null);
      assert.equal(await page.locator('.stage-notice').innerText(), 'Press Start to turn on the camera.');
      assert.equal(await label(page).innerText(), 'press Start to turn on the camera');
      assert.equal(await page.title(), PLAIN_TITLE);
      await docsScreenshot(page, 'ui-idle');

      const framesBefore = await stack.api.metric(FRAMES_IN);
      await page.getByRole('button', { name: 'Start' }).click();
      await waitForClassification(page);
      assert.equal(await page.evaluate(() => window.__cameraRequests), 1);
      assert.ok((await stack.api.metric(FRAMES_IN)) > framesBefore, 'frames reach the server after Start');
      // the title: the label shown and the model, e.g. "Arms Raised · arms_raised · StreamPoseML"
      await waitFor(async () => /^Arms (Lowered|Raised) · arms_raised · StreamPoseML$/.test(await page.title()), {
        what: 'the live label and the model in the page title',
      });
      await waitFor(async () => (await skeletonPixels(page)) > 500, { what: 'the skeleton over the webcam' });
      await sleep(3000); // a few seconds on the timeline
      await docsScreenshot(page, 'ui-streaming');
      const panel = page.getByRole('region', { name: 'Classification' });
      await panel.getByText('Diagnostics', { exact: true }).click();
      await panel.getByLabel('Live statistics').waitFor();
      await docsScreenshot(panel, 'ui-diagnostics');

      await page.getByRole('button', { name: 'Pause' }).click();
      await sleep(1500); // the frames pose was still working on
      await framesInSteadyFor(4000);
      const camera = await page.getByLabel('Video', { exact: true }).evaluate((v) => v.srcObject);
      assert.equal(camera, null, 'Pause stops the camera');
      assert.equal(await label(page).innerText(), 'press Start to turn on the camera');
      assert.equal(await skeletonPixels(page), 0, 'no skeleton over no video');
      assert.equal(
        await page.getByLabel('Streaming status').innerText(),
        'Paused: the camera is off and nothing is sent.',
      );
      assert.equal(await page.title(), PLAIN_TITLE, 'paused: the plain title');

      await page.getByRole('button', { name: 'Start' }).click();
      await waitForClassification(page);
      assert.equal(await page.evaluate(() => window.__cameraRequests), 2);
    });
  });

  test('Local video before a file is chosen sends nothing, shows the empty state, then classifies the file', async () => {
    let log;
    const prepare = (page) => (log = recordEvents(page));
    await withPage('11-local-video-empty', { initScript: sendJson, prepare }, async (page) => {
      await waitForClassification(page);
      await waitFor(async () => (await skeletonPixels(page)) > 500, { what: 'the skeleton over the webcam' });
      await page.getByLabel('Local video').check();
      await sleep(1500);
      await framesInSteadyFor(3000);
      assert.equal(await label(page).innerText(), 'choose a video file');
      assert.equal(await skeletonPixels(page), 0, "the webcam's last skeleton is gone");
      assert.equal(await page.locator('.stage-notice').innerText(), 'Choose a video file below.');

      await page.getByLabel('Video file').setInputFiles(stack.demoVideo);
      await waitForClassification(page);
      const sizes = () => log.sent.filter((e) => e.event === 'keypoints').map((e) => e.body.image_size);
      await waitFor(() => sizes().filter((size) => size?.width === 1768).length >= 20, {
        what: '20 frames of the video file (1768 x 994)',
      });
      const unsized = sizes().filter((size) => !(size?.width > 0 && size?.height > 0));
      assert.deepEqual(unsized, [], 'every frame sent has its image size');
      assert.deepEqual(log.errors, [], 'no error events');
      assert.equal(await stat(page, 'errors'), '0');
      assert.equal(await page.getByRole('alert', { name: 'Server error' }).count(), 0);
    });
  });

  test('after the API restarts mid-stream, streaming resumes with the same model and overlap', async () => {
    // window 5 and stride 1 by default; this session asks for overlap 2: a result every 3 frames
    const file = await windowModelFile(stack.dataRoot, 5);
    const model = await setModel(stack.api, file);
    assert.equal(model.stride, 1);
    const classes = ['Failure Weight Transfer', 'Successful Weight Transfer'];
    let log;
    const prepare = (page) => (log = recordEvents(page));
    await withPage('12-reconnect', { prepare }, async (page) => {
      await waitForClassification(page, { classes });
      const panel = page.getByRole('region', { name: 'Classification' });
      await panel.getByLabel('Overlap (frames)').fill('2');
      await panel.getByRole('button', { name: 'Apply to this session' }).click();
      const configured = /Window: 5 frames, overlap 2 frames \(a result every 3 frames\)$/;
      await waitFor(async () => configured.test(await sessionWindow(page).innerText()), {
        what: 'the session window with overlap 2',
      });
      const before = await sessionWindow(page).innerText();
      assert.match(before, /^Model window_model_w5_s1\.zip · /);

      await stack.api.stop();
      await waitFor(async () => !/^Connected to/.test(await connectionStatus(page).innerText()), {
        what: 'the disconnection',
      });
      const reconnectedAt = Date.now();
      await stack.api.start();
      await waitFor(async () => /^Connected to/.test(await connectionStatus(page).innerText()), {
        what: 'reconnection',
      });
      // the restarted server's session is the page's again: the same model, the same overlap
      await waitFor(async () => (await sessionWindow(page).innerText()) === before, {
        what: `"${before}" after the restart`,
      });
      const resent = log.sent.filter((e) => e.event === 'configure' && e.at > reconnectedAt);
      assert.ok(resent.length > 0, 'a configure after the reconnection');
      assert.deepEqual(
        {
          overlap: resent[0].body.overlap,
          model_id: resent[0].body.model_id,
          include_features: resent[0].body.include_features,
        },
        { overlap: 2, model_id: null, include_features: false },
      );
      const models = await (await fetch(`${stack.api.url}/models`)).json();
      assert.equal(models.active.model_id, model.model_id, 'the same model is active on the restarted API');
      await waitForClassification(page, { classes });

      // binary batches up to each due window: about one message per 3 frames, as before the restart
      const [frames0, messages0] = [Number(await stat(page, 'frames-sent')), Number(await stat(page, 'messages-sent'))];
      await sleep(6000);
      const frames = Number(await stat(page, 'frames-sent')) - frames0;
      const messages = Number(await stat(page, 'messages-sent')) - messages0;
      assert.ok(frames > 20, `${frames} frames sent after the restart`);
      assert.ok(frames / messages >= 2, `${frames} frames in ${messages} messages: batches of the session's stride 3`);
      console.log(
        `after the restart: ${frames} frames in ${messages} messages (${(frames / messages).toFixed(2)} per message)`,
      );
    });
  });
});
