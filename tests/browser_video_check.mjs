// Does headless Chromium play a video? `node tests/browser_video_check.mjs URL [TIMEOUT_MS]`
// opens the URL's origin, adds a muted <video> for the URL, plays it and prints one JSON line:
// {played, videoWidth, videoHeight, duration, currentTime, presentedFrames, error, ...}.
// Exit status: 0 when it played (play() resolved, currentTime advanced, videoWidth > 0),
// 1 when it did not, 2 when Chromium or playwright-core is missing or fails to start.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function fail(message) {
  console.log(JSON.stringify({ played: false, setupError: message }));
  process.exit(2);
}

const [url, timeoutArg] = process.argv.slice(2);
if (!url) fail('usage: node tests/browser_video_check.mjs VIDEO_URL [TIMEOUT_MS]');
const timeoutMs = Number(timeoutArg ?? 20000);
if (!existsSync(CHROMIUM)) fail(`Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH)`);

let chromium;
try {
  // playwright-core is a dependency of the web UI, not of this folder.
  ({ chromium } = createRequire(join(REPO, 'web_ui/package.json'))('playwright-core'));
} catch (error) {
  fail(`playwright-core is not installed in web_ui/node_modules (npm ci there): ${error.message}`);
}

/** Runs in the page: plays `src` muted and reports what the element did. */
async function playVideo({ src, timeoutMs }) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.preload = 'auto';
  document.body.append(video);
  const report = {
    canPlayH264: video.canPlayType('video/mp4; codecs="avc1.42E01E"'),
    played: false,
    playError: null,
    error: null,
    presentedFrames: 0,
  };
  const deadline = Date.now() + timeoutMs;
  const loaded = new Promise((done) => {
    video.addEventListener('loadeddata', () => done(true), { once: true });
    video.addEventListener('error', () => done(false), { once: true });
    setTimeout(() => done(false), timeoutMs);
  });
  video.src = src;
  if (await loaded) {
    if (video.requestVideoFrameCallback) {
      const count = (_now, metadata) => {
        report.presentedFrames = metadata.presentedFrames;
        video.requestVideoFrameCallback(count);
      };
      video.requestVideoFrameCallback(count);
    }
    try {
      await video.play();
      const target = Math.min(0.5, video.duration / 2);
      while (video.currentTime < target && !video.ended && !video.error && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      report.played = video.currentTime > 0;
    } catch (error) {
      report.playError = `${error.name}: ${error.message}`;
    }
  }
  if (video.error) report.error = { code: video.error.code, message: video.error.message };
  Object.assign(report, {
    videoWidth: video.videoWidth,
    videoHeight: video.videoHeight,
    duration: video.duration,
    currentTime: video.currentTime,
    readyState: video.readyState,
  });
  video.pause();
  return report;
}

let browser;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
} catch (error) {
  fail(`Chromium at ${CHROMIUM} did not start: ${error.message}`);
}
let report;
try {
  const page = await browser.newPage();
  await page.goto(new URL('/', url).href);
  report = await page.evaluate(playVideo, { src: url, timeoutMs });
  report.userAgent = await page.evaluate(() => navigator.userAgent);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(report.played && report.videoWidth > 0 ? 0 : 1);
