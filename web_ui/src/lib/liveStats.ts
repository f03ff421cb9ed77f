// Statistics of the live connection, apart from the transport: what was sent, what came back,
// how long it took, what the server dropped. The socket hook reports events here; the results
// panel shows a snapshot a few times a second (hooks/useLiveStats.ts).
import type { FrameResult } from './payload';
import { RateMeter, RollingMean } from './stats';
import { Timeline, type TimelinePoint } from './timeline';

export interface LiveStats {
  framesSent: number;
  imagesSent: number;
  /** `keypoints` and `frame` messages: fewer than frames when frames go in batches. */
  messagesSent: number;
  /** Frames not sent: disconnected, or no model on the server yet. */
  notSent: number;
  /** Sent frame -> its result back, mean of recent results, ms. */
  latencyMs: number;
  /** The server's own `processing_ms`, mean of recent results. */
  processingMs: number;
  /** Windows or images this session's server dropped (newest wins under load). */
  dropped: number;
  resultsPerSecond: number;
  errors: number;
}

export const EMPTY_LIVE_STATS: LiveStats = {
  framesSent: 0,
  imagesSent: 0,
  messagesSent: 0,
  notSent: 0,
  latencyMs: Number.NaN,
  processingMs: Number.NaN,
  dropped: 0,
  resultsPerSecond: 0,
  errors: 0,
};

/** Send times kept for latency (entries older than this are dropped), ms. */
export const SENT_TIMES_MAX_AGE_MS = 10_000;
/** Results averaged for latency and processing time. */
const MEAN_OF = 30;
/** Window of the results-per-second rate, ms. */
const RATE_WINDOW_MS = 2000;

/** Counters of one page's live connection. Times `now` are performance.now() ms; `wallNow`
 * (the timeline's clock) is Date.now() ms. */
export class LiveStatsCollector {
  private framesSent = 0;
  private imagesSent = 0;
  private messagesSent = 0;
  private notSentCount = 0;
  private dropped = 0;
  private errors = 0;
  private readonly latency = new RollingMean(MEAN_OF);
  private readonly processing = new RollingMean(MEAN_OF);
  private readonly results = new RateMeter(RATE_WINDOW_MS);
  /** frame id -> when it was sent */
  private readonly sentAt = new Map<number, number>();
  private readonly timelinePoints: Timeline;

  constructor(timelineSeconds: number) {
    this.timelinePoints = new Timeline(timelineSeconds);
  }

  /** A new session on the server: its frame ids and dropped count start over. */
  sessionStarted(): void {
    this.sentAt.clear();
    this.dropped = 0;
  }

  /** One message of one frame or image. */
  sent(kind: 'keypoints' | 'image', frameId: number, now: number): void {
    this.sentAt.set(frameId, now);
    this.messagesSent += 1;
    if (kind === 'keypoints') this.framesSent += 1;
    else this.imagesSent += 1;
  }

  /** One `keypoints` message of several frames (oldest first). */
  sentFrames(frameIds: readonly number[], now: number): void {
    for (const id of frameIds) this.sentAt.set(id, now);
    this.messagesSent += 1;
    this.framesSent += frameIds.length;
  }

  /** Frames that were not sent (disconnected, or no model on the server yet). */
  notSent(frames = 1): void {
    this.notSentCount += frames;
  }

  received(result: FrameResult, now: number, wallNow: number): void {
    const answers = result.results && result.results.length > 0 ? result.results : [result];
    for (const answer of answers) {
      this.processing.add(answer.processing_ms);
      const sent = this.sentAt.get(answer.frame_id);
      if (sent !== undefined) this.latency.add(now - sent);
      if (answer.label !== null) this.results.tick(now);
    }
    for (const id of this.sentAt.keys()) if (id <= result.frame_id) this.sentAt.delete(id);
    this.dropped = result.dropped ?? this.dropped;
    this.timelinePoints.add(result, wallNow);
  }

  /** An `error` event from the server. */
  error(): void {
    this.errors += 1;
  }

  /** The numbers now; forgets send times too old to be answered. */
  stats(now: number): LiveStats {
    for (const [id, sent] of this.sentAt) if (now - sent > SENT_TIMES_MAX_AGE_MS) this.sentAt.delete(id);
    return {
      framesSent: this.framesSent,
      imagesSent: this.imagesSent,
      messagesSent: this.messagesSent,
      notSent: this.notSentCount,
      latencyMs: this.latency.mean,
      processingMs: this.processing.mean,
      dropped: this.dropped,
      resultsPerSecond: this.results.rate(now),
      errors: this.errors,
    };
  }

  timeline(wallNow: number): TimelinePoint[] {
    return this.timelinePoints.snapshot(wallNow);
  }
}
