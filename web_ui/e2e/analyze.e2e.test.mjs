// End-to-end: the Analyze pages in headless Chromium against the real API process: upload the
// demo video, follow the job to 100 %, play the annotated MP4, seek from the timeline,
// download the files; bad and oversize uploads show the API's message; cancel; reload mid-job.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PYTHON, TOKEN, docsScreenshot, startStack } from './harness.mjs';
import { DOCS_VIEWPORT, waitFor } from './page.mjs';

const MAX_BYTES = 5 * 1024 * 1024; // over the demo video (3.8 MiB)
let stack;
let clip;

/** The first `seconds` of `source` re-encoded with PyAV into `target`. */
function cutClip(source, target, seconds) {
  const script = `
import sys, av
src, dst, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
with av.open(src) as inp, av.open(dst, "w") as out:
    vin = inp.streams.video[0]
    vout = out.add_stream("libx264", rate=vin.average_rate)
    vout.width, vout.height, vout.pix_fmt = vin.width // 2 * 2, vin.height // 2 * 2, "yuv420p"
    for frame in inp.decode(vin):
        if frame.time is not None and frame.time > secs:
            break
        for packet in vout.encode(frame.reformat(width=vout.width, height=vout.height, format="yuv420p")):
            out.mux(packet)
    for packet in vout.encode():
        out.mux(packet)
`;
  execFileSync(PYTHON, ['-c', script, source, target, String(seconds)]);
}

async function openAnalyze(hash = '#/analyze') {
  const context = await stack.browser.newContext({ viewport: DOCS_VIEWPORT });
  // the harness' API has a token: kept in sessionStorage like the model panel's
  await context.addInitScript((token) => window.sessionStorage.setItem('spml.apiToken', token), TOKEN);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${stack.pageUrl}${hash}`);
  return page;
}

/** The job as the API has it (the id from the page's URL). */
async function apiJob(page) {
  const id = /#\/jobs\/([^/?#]+)/.exec(page.url())[1];
  const response = await fetch(`${stack.api.url}/jobs/${id}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return (await response.json()).job;
}

/** Pids of the job worker processes running the job `id` (their command line names its folder). */
function workerPids(id) {
  const pids = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('stream_pose_ml.video_jobs.worker') && cmdline.includes(id)) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function upload(page, file, analyzer = 'gait') {
  await page.getByTestId('video-file').setInputFiles(file);
  if (analyzer) await page.getByLabel(new RegExp(analyzer, 'i')).check();
  await page.getByRole('button', { name: 'Analyze' }).click();
}

before(async () => {
  stack = await startStack({ apiEnv: { STREAM_POSE_ML_MAX_VIDEO_BYTES: String(MAX_BYTES) } });
  clip = join(stack.dataRoot, 'clip.mp4');
  cutClip(stack.demoVideo, clip, 4);
});
after(async () => stack?.close());

describe('Analyze a video', () => {
  test('the demo video is analyzed, plays, seeks from the timeline and downloads', async () => {
    const page = await openAnalyze();
    await docsScreenshot(page, 'analyze');
    await upload(page, stack.demoVideo);
    await page.waitForURL(/#\/jobs\//, { timeout: 30_000 });
    await page.getByTestId('job-progress').waitFor({ timeout: 30_000 });
    await docsScreenshot(page, 'job-progress');
    const video = page.getByTestId('job-video');
    await video.waitFor({ timeout: 300_000 });
    await page.getByTestId('job-timeline').waitFor();
    await video.evaluate((v) => v.play());
    await waitFor(() => video.evaluate((v) => v.videoWidth > 0 && v.currentTime > 0.3), { what: 'video plays' });
    await video.evaluate((v) => v.pause());
    const box = await page.getByTestId('job-timeline').boundingBox();
    await page.mouse.click(box.x + box.width * 0.5, box.y + box.height / 2);
    const duration = await video.evaluate((v) => v.duration);
    await waitFor(async () => Math.abs((await video.evaluate((v) => v.currentTime)) - duration * 0.5) < 0.3, {
      what: 'seek from the timeline',
    });
    const rows = await page.getByTestId('events-table').locator('tbody tr').count();
    assert.ok(rows > 0, 'gait found contacts on the walking person');
    const job = await apiJob(page);
    assert.equal(job.status, 'done');
    assert.equal(job.progress.percent, 100);
    assert.equal(job.progress.frames_done, job.video.frames);
    const bodies = {};
    for (const name of ['keypoints.json', 'events.csv', 'annotated.mp4', 'results.jsonl']) {
      const href = await page.getByTestId(`download-${name}`).getAttribute('href');
      const response = await fetch(href);
      assert.equal(response.status, 200, name);
      assert.match(response.headers.get('content-disposition') ?? '', /attachment/, name);
      bodies[name] = Buffer.from(await response.arrayBuffer());
    }
    assert.match(bodies['events.csv'].toString(), /^analyzer,kind,frame_start,frame_end/);
    assert.equal(bodies['events.csv'].toString().trim().split('\n').length - 1, rows, 'one CSV row per table row');
    assert.equal(JSON.parse(bodies['keypoints.json'].toString()).type, 'PoseSequence');
    assert.equal(bodies['annotated.mp4'].subarray(4, 8).toString(), 'ftyp', 'an MP4');
    await docsScreenshot(page, 'job-result');
  });

  test('two people: the job lists both, and another job analyzes the other one', async () => {
    const page = await openAnalyze();
    const form = page.getByRole('form', { name: 'Analyze a video' }); // the live page has a People too
    await form.getByLabel('People').fill('2');
    await form.getByLabel('Subject').selectOption('moves_most');
    await upload(page, clip);
    await page.waitForURL(/#\/jobs\//, { timeout: 30_000 });
    const people = page.getByTestId('job-people');
    await people.waitFor({ timeout: 300_000 });
    const first = await apiJob(page);
    assert.equal(first.settings.subject, 'moves_most');
    assert.equal(first.summary.tracks.length, 2, JSON.stringify(first.summary.tracks));
    assert.match(await people.textContent(), new RegExp(`Person #${first.summary.subject} .*analyzed`));
    const other = first.summary.tracks.find((t) => t.id !== first.summary.subject).id;
    await page.getByRole('button', { name: `Analyze #${other}` }).click();
    await waitFor(async () => !page.url().endsWith(first.id), { what: 'the new job opens' });
    await page.getByTestId('job-people').waitFor({ timeout: 300_000 });
    const second = await apiJob(page);
    assert.equal(second.status, 'done');
    assert.equal(second.settings.subject, other);
    assert.equal(second.summary.subject, other);
    assert.deepEqual(second.summary.tracks, first.summary.tracks, 'the same people with the same ids');
    assert.match(await page.getByTestId('job-people').textContent(), new RegExp(`Person #${other} .*analyzed`));
  });

  test('a text file renamed .mp4 shows the API message', async () => {
    const page = await openAnalyze();
    const fake = join(stack.dataRoot, 'notes.mp4');
    writeFileSync(fake, 'this is not a video\n'.repeat(50));
    await upload(page, fake, null);
    const alert = page.getByTestId('upload-error');
    await alert.waitFor();
    assert.match(await alert.textContent(), /video/i);
  });

  test('an oversize file shows the API message', async () => {
    const page = await openAnalyze();
    const big = join(stack.dataRoot, 'big.mp4');
    writeFileSync(big, Buffer.alloc(MAX_BYTES + 1024));
    await upload(page, big, null);
    const alert = page.getByTestId('upload-error');
    await alert.waitFor();
    assert.match(await alert.textContent(), /large|MiB|bytes/i);
  });

  test('reload during a job shows progress again, and cancel stops it', async () => {
    const page = await openAnalyze();
    await upload(page, clip);
    await page.waitForURL(/#\/jobs\//);
    await page.getByTestId('job-progress').waitFor();
    await page.reload();
    await page.getByTestId('job-progress').waitFor({ timeout: 30_000 });
    const running = await apiJob(page);
    await waitFor(() => workerPids(running.id).length > 0, { what: 'the job runs in a worker process' });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('job-error').waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId('job-error').textContent(), /cancelled/);
    assert.equal((await apiJob(page)).status, 'cancelled');
    await waitFor(() => workerPids(running.id).length === 0, { what: 'the worker process is gone' });
  });
});
