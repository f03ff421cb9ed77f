// What the end-to-end tests read from and do to the UI's page: open it (and press Start), read a
// figure, wait for a condition, count the skeleton's pixels, read the current label.
import { sleep } from './harness.mjs';

export const VIEWPORT = { width: 1400, height: 1100 };
/** The example model's classes. */
export const CLASSES = ['Arms Lowered', 'Arms Raised'];

/** The viewport of the screenshots in docs/images/ (small enough to commit). */
export const DOCS_VIEWPORT = { width: 1100, height: 700 };

/** The UI of `stack` in a new browser context; `start`: press Start (the camera stays off and
 * nothing is sent until then); `prepare(page)` runs before the page loads (to listen to it). */
export async function openPage(stack, { initScript, start = true, prepare, viewport = VIEWPORT } = {}) {
  const context = await stack.browser.newContext({ viewport });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  prepare?.(page);
  await page.goto(stack.pageUrl);
  if (start) await page.getByRole('button', { name: 'Start' }).click();
  return page;
}

/** A figure of the Diagnostics section (folded: its text, not what is rendered). */
export async function stat(page, name) {
  return ((await page.locator(`[data-stat="${name}"]`).textContent()) ?? '').trim();
}

export async function waitFor(check, { timeout = 30_000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await sleep(interval);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last value: ${JSON.stringify(last)})`);
}

/** Non-transparent pixels on the skeleton canvas. */
export function skeletonPixels(page) {
  return page.locator('canvas[aria-label="Skeleton overlay"]').evaluate((canvas) => {
    if (canvas.width < 2) return 0;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let count = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count++;
    return count;
  });
}

export async function currentLabel(page) {
  return (await page.getByRole('status', { name: 'Current label' }).innerText()).trim();
}

/** Waits for a label of `classes` in the results panel; returns it. */
export async function waitForClassification(page, { timeout = 60_000, classes = CLASSES } = {}) {
  return waitFor(
    async () => {
      const label = await currentLabel(page);
      return classes.includes(label) ? label : null;
    },
    { timeout, what: 'a classification in the results panel' },
  );
}
