// End-to-end: the built UI sends stride-aligned binary batches (docs/api.md, "Sending frames")
// and the server classifies exactly the windows it would with one JSON message per frame, each
// as early. Every message on the page's WebSocket is recorded (Playwright's `framesent` and
// `framereceived`); the windows due are worked out from the frames sent, with the rule of
// stream_pose_ml/features/windows.py `window_ends`, and compared with the `frame_result`s. The
// API runs without shedding late frames (STREAM_POSE_ML_STALE_FRAME_MS=0, docs/api.md
// "Overload"): shedding resets a session's window when the server falls behind, which a busy
// test machine would make it do at moments no client can predict.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RESULTS, screenshotPath, setModel, sleep, startStack, windowModelFile } from './harness.mjs';

const VIEWPORT = { width: 1400, height: 1100 };
/** Seconds each measurement lasts. */
const MEASURE_SECONDS = 8;
let stack;
const report = [];

/** One Socket.IO packet of an Engine.IO message: type, attachments and its JSON data. */
function socketPacket(text) {
  const match = /^(\d)(?:(\d+)-)?(?:\/[^,]*,)?(\d*)([[{].*)?$/s.exec(text);
  if (!match) return null;
  return { type: Number(match[1]), attachments: Number(match[2] ?? 0), data: match[4] ? JSON.parse(match[4]) : null };
}

/** The frame ids of a binary `keypoints` attachment (SPK1: header `<4sHBBII`, then int64 ids). */
function spk1FrameIds(buffer) {
  assert.equal(buffer.subarray(0, 4).toString('latin1'), 'SPK1', 'a binary attachment is SPK1');
  const n = buffer.readUInt16LE(4);
  assert.equal(buffer.length, 16 + n * (16 + 33 * 4 * 4), 'the SPK1 message is as long as its header says');
  return Array.from({ length: n }, (_, i) => Number(buffer.readBigInt64LE(16 + 8 * i)));
}

/** Everything a page sends and receives on its Socket.IO connection, in order, with times. */
function recordSocket(page) {
  const log = { sent: [], configured: [], classified: [], errors: [], warnings: [], lastDropped: 0 };
  page.on('websocket', (ws) => {
    let binaryEvent = null; // a binary event waiting for its attachment
    ws.on('framesent', ({ payload }) => {
      const at = Date.now();
      if (typeof payload !== 'string') {
        assert.ok(binaryEvent === 'keypoints', `a binary attachment of ${binaryEvent}`);
        log.sent.push({ kind: 'keypoints', binary: true, frameIds: spk1FrameIds(Buffer.from(payload)), at });
        binaryEvent = null;
        return;
      }
      if (!payload.startsWith('4')) return; // Engine.IO ping, pong, upgrade
      const packet = socketPacket(payload.slice(1));
      if (!packet || !Array.isArray(packet.data)) return;
      const [event, body] = packet.data;
      if (packet.type === 5)
        binaryEvent = event; // BINARY_EVENT: the attachment follows
      else if (event === 'keypoints')
        log.sent.push({ kind: 'keypoints', binary: false, frameIds: [body.frame_id], at });
      else if (event === 'configure') log.sent.push({ kind: 'configure', message: body, at });
    });
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string' || !payload.startsWith('42')) return;
      const [event, body] = JSON.parse(payload.slice(2));
      if (event === 'configured') log.configured.push(body);
      else if (event === 'error') log.errors.push(body);
      else if (event === 'warning') log.warnings.push(body);
      else if (event === 'frame_result' && body.label !== null) {
        const windows = body.results?.length ? body.results : [body];
        log.classified.push(...windows.map((w) => w.frame_id));
        log.lastDropped = body.dropped;
      }
    });
  });
  return log;
}

/** The frames that complete a window, from the frames sent in order: the server's window starts
 * with the session (`initial`), and again at each `configure` whose answer changed it. */
function dueFrames(log, initial, untilMs) {
  let window = initial;
  let total = 0;
  let answered = 0;
  const due = [];
  for (const entry of log.sent) {
    if (entry.at > untilMs) break;
    if (entry.kind === 'configure') {
      const answer = log.configured[answered++];
      assert.ok(answer, 'every configure is answered');
      const next = { model_id: answer.model_id, window_size: answer.window_size, stride: answer.stride };
      if (Object.keys(next).some((key) => next[key] !== window[key])) [window, total] = [next, 0];
      continue;
    }
    for (const id of entry.frameIds) {
      const g = total++;
      if (g + 1 >= window.window_size && (g + 1 - window.window_size) % window.stride === 0) due.push(id);
    }
  }
  return due;
}

/** Messages, frames and their rates between two times. */
function traffic(log, fromMs, toMs) {
  const messages = log.sent.filter((e) => e.kind === 'keypoints' && e.at >= fromMs && e.at < toMs);
  const frames = messages.reduce((sum, e) => sum + e.frameIds.length, 0);
  const seconds = (toMs - fromMs) / 1000;
  return {
    messages: messages.length,
    frames,
    messagesPerSecond: messages.length / seconds,
    framesPerSecond: frames / seconds,
    binary: messages.filter((e) => e.binary).length,
  };
}

async function waitFor(check, { timeout = 60_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
}

/** Opens the UI sending keypoints in `format`, runs `phases` (each optionally sets the session's
 * overlap in the results panel first, then measures), and checks the results against the frames
 * sent. */
async function runPage(name, { format, phases }) {
  const context = await stack.browser.newContext({ viewport: VIEWPORT });
  await context.addInitScript((keypointsFormat) => {
    localStorage.setItem('spml.source', JSON.stringify({ sendMode: 'keypoints', keypointsFormat }));
  }, format);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  const log = recordSocket(page);
  const measured = [];
  try {
    await page.goto(stack.pageUrl);
    await page.getByRole('button', { name: 'Start' }).click(); // the camera is off until Start
    await waitFor(() => log.classified.length >= 5, { what: 'classifications' });
    for (const phase of phases) {
      if (phase.overlap !== undefined) {
        const answers = log.configured.length;
        const panel = page.getByRole('region', { name: 'Classification' });
        await panel.getByLabel('Overlap (frames)').fill(String(phase.overlap));
        await panel.getByRole('button', { name: 'Apply to this session' }).click();
        await waitFor(() => log.configured.slice(answers).some((c) => c.stride === phase.stride), {
          what: `the session's stride ${phase.stride}`,
        });
        await sleep(1500); // the batcher finds the new window's phase from the first results
      }
      const from = Date.now();
      await sleep(MEASURE_SECONDS * 1000);
      measured.push({ stride: phase.stride, ...traffic(log, from, Date.now()) });
    }
    const cutoff = Date.now();
    await sleep(3000); // the results of the last frames sent
    await page.screenshot({ path: screenshotPath(name), fullPage: true });
    // both from one snapshot of the statistics
    const [framesSent, messagesSent] = await page.evaluate(() =>
      ['frames-sent', 'messages-sent'].map((name) =>
        Number(document.querySelector(`[data-stat="${name}"]`).textContent.trim()),
      ),
    );
    return { log, measured, cutoff, framesSent, messagesSent };
  } finally {
    await context.close();
  }
}

/** The checks every run passes: no errors, a result for every due window (but the ones the
 * server reports dropped) and for nothing else, and in binary every result as early as with
 * one message per frame (each due frame is the last of its message). */
function checkRun(run, { format, initial }) {
  const { log, cutoff } = run;
  assert.deepEqual(log.errors, [], 'no error events');
  assert.deepEqual(log.warnings, [], 'no warning events (the server sheds nothing)');
  const keypoints = log.sent.filter((e) => e.kind === 'keypoints');
  assert.ok(keypoints.length > 0, 'keypoints were sent');
  assert.ok(
    keypoints.every((e) => e.binary === (format === 'binary')),
    `every keypoints message is ${format}`,
  );
  const sentIds = keypoints.flatMap((e) => e.frameIds);
  assert.deepEqual(
    sentIds,
    [...sentIds].sort((a, b) => a - b),
    'frames leave in order',
  );
  assert.equal(new Set(sentIds).size, sentIds.length, 'every frame leaves once');
  if (format === 'json')
    assert.ok(
      keypoints.every((e) => e.frameIds.length === 1),
      'JSON: one frame per message',
    );

  const due = dueFrames(log, initial, cutoff);
  const sentBefore = new Set(keypoints.filter((e) => e.at <= cutoff).flatMap((e) => e.frameIds));
  const classified = new Set(log.classified.filter((id) => sentBefore.has(id)));
  const dueSet = new Set(due);
  const extra = [...classified].filter((id) => !dueSet.has(id));
  const missing = due.filter((id) => !classified.has(id));
  assert.deepEqual(extra, [], 'a result only for a frame that completes a window');
  assert.ok(
    missing.length <= log.lastDropped,
    `${missing.length} due windows without a result, ${log.lastDropped} dropped by the server`,
  );
  const lastOfMessage = new Set(keypoints.map((e) => e.frameIds.at(-1)));
  const late = due.filter((id) => !lastOfMessage.has(id));
  assert.deepEqual(late, [], 'every due frame is the last frame of its message');
  return { due: due.length, classified: due.length - missing.length, dropped: log.lastDropped };
}

describe('the UI sends stride-aligned binary batches', { timeout: 600_000 }, () => {
  before(async () => {
    stack = await startStack({ apiEnv: { STREAM_POSE_ML_STALE_FRAME_MS: '0' } });
  });

  after(async () => {
    await writeFile(join(RESULTS, 'batching.json'), `${JSON.stringify(report, null, 2)}\n`).catch(() => undefined);
    await stack?.close();
  });

  for (const [label, model] of [
    ['a model of window 1 (stride 1, as the example model)', { window: 1, overlap: 0, strides: [1] }],
    ['a model of window 5 (overlap 3: stride 2, then overlap 0: stride 5)', { window: 5, overlap: 3, strides: [2, 5] }],
  ]) {
    test(`${label}: binary batches get the results of one JSON message per frame, as early, in 1 / stride of the messages`, async () => {
      // models of scripts/make_window_model.py: they classify frames without a person too
      const file = await windowModelFile(stack.dataRoot, model.window);
      const initial = await setModel(stack.api, file, model.overlap);
      assert.equal(initial.stride, model.strides[0]);
      const phases = model.strides.map((stride, i) =>
        i === 0 ? { stride } : { stride, overlap: model.window - stride },
      );
      const runs = {};
      for (const format of ['json', 'binary']) {
        const run = await runPage(`batching-w${model.window}-${format}`, { format, phases });
        const checked = checkRun(run, { format, initial });
        runs[format] = run;
        for (const m of run.measured) {
          const line = { model: label, format, ...m, ...checked };
          report.push(line);
          console.log(
            `${format} stride ${m.stride}: ${m.messagesPerSecond.toFixed(1)} messages/s, ` +
              `${m.framesPerSecond.toFixed(1)} frames/s (${(m.frames / Math.max(1, m.messages)).toFixed(2)} ` +
              `frames per message); the run: due windows ${checked.due}, classified ${checked.classified}, ` +
              `dropped ${checked.dropped}`,
          );
        }
        // the statistics count frames and messages alike
        if (format === 'json') assert.equal(run.messagesSent, run.framesSent, 'JSON: a message per frame');
      }
      for (const [i, stride] of model.strides.entries()) {
        const binary = runs.binary.measured[i];
        assert.ok(binary.frames > 10, `frames sent at stride ${stride}: ${binary.frames}`);
        // frames leave together up to each due window: about one message per `stride` frames
        assert.ok(
          binary.messages <= binary.frames / stride + 3,
          `stride ${stride}: ${binary.messages} binary messages for ${binary.frames} frames`,
        );
        if (stride > 1) assert.ok(runs.binary.messagesSent < runs.binary.framesSent, 'fewer messages than frames');
      }
    });
  }
});
