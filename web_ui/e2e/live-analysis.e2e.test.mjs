// End-to-end: the live page's movement analysis. The built UI in headless Chromium (fake webcam =
// the demo video) against the real API process with no model: the user chooses an analyzer, the
// page sends it with `configure`, streams keypoints (an analyzer needs no model), and the analysis
// panel shows the server's `analysis` events as they arrive; the choice survives a reload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { docsScreenshot, screenshotPath, startStack } from './harness.mjs';
import { openPage, waitFor } from './page.mjs';

/** The analyzer that gives updating output on the demo video (a person raising and lowering the arms). */
const ANALYZER = process.env.SPML_E2E_ANALYZER ?? 'gait';
let stack;

/** The JSON events the page sends and receives, over every connection. */
function recordEvents(page) {
  const log = { sent: [], received: [] };
  const parse = (payload) =>
    typeof payload === 'string' && payload.startsWith('42[') ? JSON.parse(payload.slice(2)) : null;
  page.on('websocket', (ws) => {
    ws.on('framesent', ({ payload }) => {
      const message = parse(payload);
      if (message) log.sent.push({ event: message[0], body: message[1] });
    });
    ws.on('framereceived', ({ payload }) => {
      const message = parse(payload);
      if (message) log.received.push({ event: message[0], body: message[1], at: Date.now() });
    });
  });
  return log;
}

/** What the analysis panel shows now: its figure and its event list. */
async function panelText(page) {
  const value = (await page.getByTestId('analysis-value').textContent())?.trim() ?? '';
  const events = (await page.getByTestId('analysis-events').textContent())?.trim() ?? '';
  return `${value} | ${events}`;
}

describe('live movement analysis', { timeout: 300_000 }, () => {
  before(async () => {
    stack = await startStack();
  });

  after(async () => {
    await stack?.close();
  });

  test(`the ${ANALYZER} analyzer's findings update the analysis panel as the video plays`, async () => {
    const page = await openPage(stack, { start: false });
    const log = recordEvents(page);
    try {
      const panel = page.getByTestId('analysis-panel');
      await page.getByLabel('Analyzer').selectOption(ANALYZER);
      await page.getByRole('button', { name: 'Start' }).click();

      // the panel's states while the video plays: the empty one, then at least two updates
      const shown = [];
      await waitFor(
        async () => {
          const text = await panelText(page);
          if (shown.at(-1) !== text) shown.push(text);
          return shown.length >= 3;
        },
        { timeout: 120_000, interval: 200, what: `two different ${ANALYZER} panel states` },
      );
      const configures = log.sent.filter((m) => m.event === 'configure').map((m) => m.body);
      assert.ok(
        configures.some((body) => body.analyzer === ANALYZER),
        `configure names the analyzer: ${JSON.stringify(configures)}`,
      );
      const bodies = log.received.filter((m) => m.event === 'analysis').map((m) => m.body);
      assert.ok(bodies.length >= 2, `at least two analysis events: ${bodies.length}`);
      assert.ok(
        bodies.every((b) => b.analyzer === ANALYZER),
        'every analysis is of the chosen analyzer',
      );
      const errors = log.received.filter((m) => m.event === 'error').map((m) => m.body);
      assert.deepEqual(errors, [], 'no error: an analyzer needs no model');
      assert.equal(log.received.filter((m) => m.event === 'frame_result').length, 0, 'no model, no classification');
      // the panel's figure is the newest summary's, once the analyzer has one (gait: a cadence
      // after two contacts; squat: a repetition)
      const expected = (summary) =>
        ANALYZER === 'gait'
          ? summary.cadence === null
            ? null
            : `${summary.cadence.toFixed(1)} steps/min`
          : ANALYZER === 'squat'
            ? summary.repetitions > 0 && `${summary.repetitions} repetition${summary.repetitions === 1 ? '' : 's'}`
            : summary.falls > 0 && `${summary.falls} fall${summary.falls === 1 ? '' : 's'}`;
      await waitFor(
        async () => {
          const latest = log.received.filter((m) => m.event === 'analysis').at(-1).body.summary;
          const want = expected(latest);
          return Boolean(want) && (await page.getByTestId('analysis-value').textContent()) === want;
        },
        { timeout: 120_000, interval: 200, what: `the ${ANALYZER} figure of the newest analysis in the panel` },
      );
      const received = log.received.filter((m) => m.event === 'analysis').map((m) => m.body);
      const findings = received.reduce((n, b) => n + b.events.length, 0);
      const figure = await page.getByTestId('analysis-value').textContent();
      console.log(`${ANALYZER}: ${received.length} analysis events, ${findings} findings, figure "${figure}"`);
      await docsScreenshot(panel, 'live-analysis');

      // the choice is kept: after a reload the page configures the same analyzer at once
      await page.reload();
      assert.equal(await page.getByLabel('Analyzer').inputValue(), ANALYZER);
    } finally {
      await page.screenshot({ path: screenshotPath('live-analysis'), fullPage: true }).catch(() => undefined);
      await page.context().close();
    }
  });
});
