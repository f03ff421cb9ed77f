// When the page sends frames: a session classifies the window ending on frame g (frames counted
// since its window was last reset) when g + 1 >= size and (g + 1 - size) % stride == 0, the rule
// of stream_pose_ml/features/windows.py `window_ends`. A frame that completes no window gains
// nothing from being sent at once, so StrideBatcher holds frames until the one that completes the
// next due window and releases them together: every result leaves as early as with one message
// per frame, with 1 / stride of the messages. It mirrors stream_pose_ml/serving/batching.py
// `StrideBatcher` (same cases in batching.test.ts as tests/test_serving_batching.py).
import { MAX_FRAMES_PER_MESSAGE } from '../config';

/** `(size, stride)` if both are integers >= 1; else a RangeError. */
export function checkWindow(size: number, stride: number): [number, number] {
  for (const [name, value] of [
    ['window', size],
    ['stride', stride],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
  return [size, stride];
}

/** Frames among `first ... first + nNew - 1` (counted from the stream's start) that are the last
 * frame of a window, in order: the windows `nNew` new frames complete (`window_ends`). */
export function windowEnds(first: number, nNew: number, size: number, stride = 1): number[] {
  const lowest = Math.ceil(Math.max(0, first - size + 1) / stride); // first window whose end is >= first
  const highest = Math.floor((first + nNew - size) / stride); // last window whose end is < first + nNew
  const ends: number[] = [];
  for (let k = lowest; k <= highest; k++) ends.push(k * stride + size - 1);
  return ends;
}

/** Whether frame `position` (counted since the window's reset) completes a window. */
export function isWindowEnd(position: number, size: number, stride: number): boolean {
  return windowEnds(position, 1, size, stride).length > 0;
}

/** Collects a session's frames and releases them when a window is due.
 *
 * `size` and `stride` are the session's (the `configured` event says them); `framesSeen` the
 * frames the server's window already holds (0 after a reset, e.g. a new `configure`).
 * `maxFrames` caps a message (the server's STREAM_POSE_ML_MAX_FRAMES_PER_MESSAGE). */
export class StrideBatcher<T> {
  readonly size: number;
  readonly stride: number;
  readonly maxFrames: number;
  /** Frames added since the window's reset, including the server's `framesSeen` at the start. */
  framesSeen: number;
  private heldFrames: T[] = [];

  constructor(size: number, stride: number, framesSeen = 0, maxFrames = MAX_FRAMES_PER_MESSAGE) {
    [this.size, this.stride] = checkWindow(size, stride);
    if (!Number.isInteger(maxFrames) || maxFrames < 1) throw new RangeError(`maxFrames must be >= 1, got ${maxFrames}`);
    this.maxFrames = maxFrames;
    this.framesSeen = framesSeen;
  }

  /** Frames waiting to be sent. */
  get held(): number {
    return this.heldFrames.length;
  }

  /** Take one frame; the frames to send now (oldest first), or null. */
  add(frame: T): T[] | null {
    this.heldFrames.push(frame);
    const due = isWindowEnd(this.framesSeen, this.size, this.stride);
    this.framesSeen += 1;
    if (due || this.heldFrames.length >= this.maxFrames) return this.flush();
    return null;
  }

  /** Everything held, to send now (when the source pauses or stops); null if nothing. */
  flush(): T[] | null {
    if (this.heldFrames.length === 0) return null;
    const held = this.heldFrames;
    this.heldFrames = [];
    return held;
  }
}
