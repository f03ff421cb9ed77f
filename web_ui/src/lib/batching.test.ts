// The cases of tests/test_serving_batching.py: frames leave together exactly when a window is due.
import { describe, expect, it } from 'vitest';
import { MAX_FRAMES_PER_MESSAGE } from '../config';
import { StrideBatcher, isWindowEnd, windowEnds } from './batching';

/** The rule itself, frame by frame: g completes a window when g + 1 >= size and
 * (g + 1 - size) % stride == 0. */
function dueFrames(first: number, n: number, size: number, stride: number): number[] {
  const due: number[] = [];
  for (let g = first; g < first + n; g++) if (g + 1 >= size && (g + 1 - size) % stride === 0) due.push(g);
  return due;
}

describe('windowEnds', () => {
  it('gives what stream_pose_ml.features.windows.window_ends gives', () => {
    // printed by window_ends(first, n_new, size, stride).tolist()
    expect(windowEnds(0, 47, 30, 5)).toEqual([29, 34, 39, 44]);
    expect(windowEnds(0, 47, 4, 4)).toEqual([3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43]);
    expect(windowEnds(0, 47, 10, 3)).toEqual([9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45]);
    expect(windowEnds(4, 2, 6, 3)).toEqual([5]);
    expect(windowEnds(7, 10, 5, 2)).toEqual([8, 10, 12, 14, 16]);
    expect(windowEnds(31, 9, 30, 5)).toEqual([34, 39]);
    expect(windowEnds(0, 0, 3, 1)).toEqual([]);
    expect(windowEnds(2, 1, 3, 1)).toEqual([2]);
  });

  it('is the rule, for any start, length, size and stride', () => {
    for (let size = 1; size <= 7; size++)
      for (let stride = 1; stride <= 6; stride++)
        for (let first = 0; first <= 20; first++)
          for (const n of [0, 1, 2, 5, 13]) {
            expect(windowEnds(first, n, size, stride)).toEqual(dueFrames(first, n, size, stride));
            if (n === 1) expect(isWindowEnd(first, size, stride)).toBe(dueFrames(first, 1, size, stride).length === 1);
          }
  });
});

describe('StrideBatcher', () => {
  it.each([
    [1, 1],
    [3, 1],
    [30, 5],
    [4, 4],
    [10, 3],
  ])('size %i, stride %i: every message ends on a due frame, the frames in order', (size, stride) => {
    const batcher = new StrideBatcher<number>(size, stride);
    const sent: number[] = [];
    const lastIds: number[] = [];
    const messages: number[][] = [];
    for (let i = 0; i < 47; i++) {
      const held = batcher.add(i);
      if (held !== null) {
        messages.push(held);
        sent.push(held.length);
        lastIds.push(held[held.length - 1]);
      }
    }
    expect(lastIds).toEqual(windowEnds(0, 47, size, stride));
    expect(lastIds).toEqual(dueFrames(0, 47, size, stride));
    expect(sent.reduce((a, b) => a + b, 0) + batcher.held).toBe(47);
    expect(messages.flat()).toEqual(Array.from({ length: 47 - batcher.held }, (_, i) => i)); // nothing lost or reordered
    if (stride === 1) expect(sent.slice(1)).toEqual(Array(sent.length - 1).fill(1)); // stride 1: one frame per message
  });

  it('caps a message, and starts where the server is', () => {
    const capped = new StrideBatcher<number>(30, 5, 0, 4);
    const sizes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const held = capped.add(i);
      if (held) sizes.push(held.length);
    }
    expect(sizes).toEqual([4, 4, 4]); // a 30-frame first window still leaves in 4-frame messages
    const mid = new StrideBatcher<number>(6, 3, 4); // the server already holds 4 frames
    expect(mid.add(0)).toBeNull();
    expect(mid.add(1)).toEqual([0, 1]); // frame 5 completes one
    expect(mid.flush()).toBeNull();
    expect(new StrideBatcher<number>(3, 1).flush()).toBeNull();
    expect(new StrideBatcher<number>(30, 5).maxFrames).toBe(MAX_FRAMES_PER_MESSAGE);
    expect(MAX_FRAMES_PER_MESSAGE).toBe(120); // the server's STREAM_POSE_ML_MAX_FRAMES_PER_MESSAGE default
  });

  it('hands over what it holds when asked (the source paused)', () => {
    const batcher = new StrideBatcher<number>(5, 5);
    expect([batcher.add(0), batcher.add(1)]).toEqual([null, null]);
    expect(batcher.flush()).toEqual([0, 1]);
    expect(batcher.held).toBe(0);
    expect(batcher.framesSeen).toBe(2); // the server has them: the window goes on
    expect([batcher.add(2), batcher.add(3)]).toEqual([null, null]);
    expect(batcher.add(4)).toEqual([2, 3, 4]);
  });

  it('refuses a window or stride below 1 and a cap below 1', () => {
    expect(() => new StrideBatcher(0, 1)).toThrow(RangeError);
    expect(() => new StrideBatcher(3, 1.5)).toThrow(/stride must be an integer/);
    expect(() => new StrideBatcher(3, 1, 0, 0)).toThrow(/maxFrames/);
  });
});
