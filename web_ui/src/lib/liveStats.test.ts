import { describe, expect, it } from 'vitest';
import { EMPTY_LIVE_STATS, LiveStatsCollector, SENT_TIMES_MAX_AGE_MS } from './liveStats';
import type { FrameResult } from './payload';

const result = (frameId: number, patch: Partial<FrameResult> = {}): FrameResult => ({
  label: 'A',
  classification: 'A',
  probabilities: { A: 0.7, B: 0.3 },
  frame_id: frameId,
  timestamp: null,
  window_fill: 1,
  window_size: 3,
  processing_ms: 2,
  dropped: 0,
  model_id: 'm',
  backend: 'in_process',
  ...patch,
});

describe('LiveStatsCollector', () => {
  it('starts empty', () => {
    expect(new LiveStatsCollector(20).stats(0)).toEqual(EMPTY_LIVE_STATS);
  });

  it('counts what is sent and not sent, and the latency of each answered frame', () => {
    const stats = new LiveStatsCollector(20);
    stats.sent('keypoints', 1, 100);
    stats.sent('keypoints', 2, 110);
    stats.sent('image', 3, 120);
    stats.notSent();
    stats.received(result(2, { processing_ms: 4, dropped: 5 }), 150, 1000);
    expect(stats.stats(150)).toMatchObject({
      framesSent: 2,
      imagesSent: 1,
      notSent: 1,
      latencyMs: 40,
      processingMs: 4,
      dropped: 5,
      resultsPerSecond: 0.5, // one result in the 2 s window
      errors: 0,
    });
    // frame 1 was answered by frame 2's window: it no longer counts for latency
    stats.received(result(1), 200, 1050);
    expect(stats.stats(200).latencyMs).toBe(40);
  });

  it('counts the frames and the messages of a batch', () => {
    const stats = new LiveStatsCollector(20);
    stats.sentFrames([4, 5, 6], 0);
    stats.sent('keypoints', 7, 10);
    stats.notSent(2);
    expect(stats.stats(10)).toMatchObject({ framesSent: 4, messagesSent: 2, notSent: 2 });
    stats.received(result(6), 25, 1000); // the batch left at 0: its due frame's latency
    expect(stats.stats(25).latencyMs).toBe(25);
  });

  it('takes every window of a message that completed several', () => {
    const stats = new LiveStatsCollector(20);
    stats.sent('keypoints', 4, 0);
    stats.sent('keypoints', 5, 10);
    const windows = [result(4, { processing_ms: 1 }), result(5, { processing_ms: 3 })];
    stats.received({ ...windows[1], results: windows }, 30, 1000);
    expect(stats.stats(30)).toMatchObject({ latencyMs: 25, processingMs: 2, resultsPerSecond: 1 });
    expect(stats.timeline(1000).map((p) => p.label)).toEqual(['A', 'A']);
  });

  it('leaves progress results out of the rate and the timeline', () => {
    const stats = new LiveStatsCollector(20);
    stats.received(result(0, { label: null, classification: null, probabilities: null }), 0, 0);
    expect(stats.stats(0).resultsPerSecond).toBe(0);
    expect(stats.timeline(0)).toEqual([]);
  });

  it('counts server errors, and forgets old send times and a finished session', () => {
    const stats = new LiveStatsCollector(20);
    stats.error();
    stats.sent('keypoints', 7, 0);
    stats.stats(SENT_TIMES_MAX_AGE_MS + 1);
    stats.received(result(7, { dropped: 2 }), SENT_TIMES_MAX_AGE_MS + 2, 0);
    expect(stats.stats(SENT_TIMES_MAX_AGE_MS + 2)).toMatchObject({ errors: 1, latencyMs: Number.NaN, dropped: 2 });
    stats.sent('keypoints', 8, 0);
    stats.sessionStarted(); // a new session: its own frame ids and dropped count
    expect(stats.stats(5)).toMatchObject({ dropped: 0, framesSent: 2 });
    stats.received(result(8), 5, 0);
    expect(stats.stats(5).latencyMs).toBeNaN();
  });
});
