import { describe, expect, it } from 'vitest';
import { FrameRateLimiter, RateMeter, RollingMean } from './stats';

/** Frames a limiter lets through from a camera at `cameraFps` for `seconds`. */
function accepted(maxFps: number, cameraFps: number, seconds = 10, jitterMs = 0): number {
  const limiter = new FrameRateLimiter(maxFps);
  let count = 0;
  for (let k = 0; k < cameraFps * seconds; k++) {
    const jitter = jitterMs * Math.sin(k * 12.9898);
    if (limiter.accept((k * 1000) / cameraFps + jitter)) count++;
  }
  return count / seconds;
}

describe('FrameRateLimiter', () => {
  it('keeps the rate at the cap', () => {
    expect(accepted(15, 30)).toBeCloseTo(15, 0);
    expect(accepted(24, 30)).toBeGreaterThan(22);
    expect(accepted(24, 30)).toBeLessThanOrEqual(24.5);
    expect(accepted(10, 60)).toBeCloseTo(10, 0);
  });

  it('passes every frame of a camera slower than the cap, jitter or not', () => {
    expect(accepted(30, 30, 10, 3)).toBe(30);
    expect(accepted(30, 25)).toBe(25);
  });

  it('takes every other frame at half the camera rate, not bursts', () => {
    const limiter = new FrameRateLimiter(15);
    const pattern = Array.from({ length: 8 }, (_, k) => limiter.accept((k * 1000) / 30));
    expect(pattern).toEqual([true, false, true, false, true, false, true, false]);
  });

  it('starts again after a pause without a burst', () => {
    const limiter = new FrameRateLimiter(10);
    expect(limiter.accept(0)).toBe(true);
    expect(limiter.accept(5000)).toBe(true);
    expect(limiter.accept(5033)).toBe(false);
    expect(limiter.accept(5100)).toBe(true);
  });
});

describe('RateMeter and RollingMean', () => {
  it('counts events per second over its window', () => {
    const meter = new RateMeter(1000);
    for (let t = 0; t < 3000; t += 50) meter.tick(t);
    expect(meter.rate(2999)).toBe(20);
    expect(meter.rate(10_000)).toBe(0);
  });

  it('averages the last values and skips non-finite ones', () => {
    const mean = new RollingMean(3);
    expect(Number.isNaN(mean.mean)).toBe(true);
    [1, 2, 3, 4, Number.NaN].forEach((v) => mean.add(v));
    expect(mean.mean).toBe(3);
    expect(mean.count).toBe(3);
  });
});
