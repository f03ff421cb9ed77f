// Small counters for what the results panel shows: rates and recent means over a time window.

/** Events per second over the last `windowMs` (timestamps in ms on one monotonic clock). */
export class RateMeter {
  private times: number[] = [];

  constructor(private readonly windowMs = 1000) {}

  tick(nowMs: number): void {
    this.times.push(nowMs);
    this.prune(nowMs);
  }

  rate(nowMs: number): number {
    this.prune(nowMs);
    return (this.times.length * 1000) / this.windowMs;
  }

  private prune(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && this.times[drop] < oldest) drop++;
    if (drop) this.times.splice(0, drop);
  }
}

/** Mean of the last `size` values (NaN before any). */
export class RollingMean {
  private values: number[] = [];

  constructor(private readonly size = 30) {}

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.values.push(value);
    if (this.values.length > this.size) this.values.shift();
  }

  get mean(): number {
    if (this.values.length === 0) return Number.NaN;
    return this.values.reduce((a, b) => a + b, 0) / this.values.length;
  }

  get count(): number {
    return this.values.length;
  }
}

/** Lets through at most `maxFps` frames per second: `accept(now)` says whether to process a
 * frame that arrives now. Frames are spaced by whole frame periods, so a 30 fps camera capped at
 * 15 gives every other frame rather than bursts. */
export class FrameRateLimiter {
  private next = Number.NEGATIVE_INFINITY;

  constructor(private maxFps: number) {}

  setMaxFps(maxFps: number): void {
    this.maxFps = maxFps;
  }

  accept(nowMs: number): boolean {
    if (!(this.maxFps > 0)) return true;
    const period = 1000 / this.maxFps;
    // a little slack: a camera frame a hair early is still the frame we want
    if (nowMs + period * 0.1 < this.next) return false;
    // the next slot is one period after this one's; after a long pause, count from now
    this.next = this.next > nowMs - period ? this.next + period : nowMs + period;
    return true;
  }
}
