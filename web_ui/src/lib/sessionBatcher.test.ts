import { describe, expect, it } from 'vitest';
import { windowEnds } from './batching';
import { SessionBatcher, type SessionWindow, type WindowResult } from './sessionBatcher';

interface Frame {
  frameId: number;
}

/** A session's window on the server (service.py): frames in order, results as it emits them. */
class FakeSession {
  total = 0;
  received: number[] = [];
  messages: number[][] = [];
  classified: number[] = [];
  results: WindowResult[] = [];

  constructor(public window: SessionWindow) {}

  reset(window: SessionWindow): void {
    this.window = window;
    this.total = 0;
  }

  receive(frames: Frame[]): void {
    const ids = frames.map((f) => f.frameId);
    const { size, stride, modelId } = this.window;
    const due = windowEnds(this.total, ids.length, size, stride).map((g) => ids[g - this.total]);
    this.total += ids.length;
    this.received.push(...ids);
    this.messages.push(ids);
    this.classified.push(...due);
    if (due.length > 0) {
      this.results.push({
        frame_id: due[due.length - 1],
        label: 'A',
        window_fill: 1,
        window_size: size,
        model_id: modelId,
      });
    } else if (this.total <= size) {
      const fill = this.total / size;
      this.results.push({
        frame_id: ids[ids.length - 1],
        label: null,
        window_fill: fill,
        window_size: size,
        model_id: modelId,
      });
    }
  }

  /** Whether each classified frame was the last of its message (its result left at once). */
  lateResults(fromFrame = 0): number[] {
    const last = new Set(this.messages.map((m) => m[m.length - 1]));
    return this.classified.filter((id) => id >= fromFrame && !last.has(id));
  }
}

const W52: SessionWindow = { modelId: 'm', size: 5, stride: 2 };

/** Streams `n` frames through a batcher to `server`, results back `latency` frames later;
 * `at[i]` runs before frame i is added. */
function stream(
  server: FakeSession,
  n: number,
  {
    latency = 2,
    batching = true,
    at = {} as Record<number, (b: SessionBatcher<Frame>) => void>,
    asked = { count: 0 },
  } = {},
) {
  const inFlight: { result: WindowResult; at: number }[] = [];
  let now = 0;
  const batcher = new SessionBatcher<Frame>(
    {
      send: (frames) => {
        const before = server.results.length;
        server.receive(frames);
        for (const result of server.results.slice(before)) inFlight.push({ result, at: now + latency });
      },
      askWindow: () => {
        asked.count += 1;
      },
    },
    batching,
  );
  for (now = 0; now < n; now++) {
    at[now]?.(batcher);
    while (inFlight.length > 0 && inFlight[0].at <= now) batcher.resultReceived(inFlight.shift()!.result);
    batcher.add({ frameId: now });
  }
  return { batcher };
}

/** The frames classified when each frame is its own message (the reference), with resets. */
function oneByOne(window: SessionWindow, n: number, resets: Record<number, SessionWindow> = {}): number[] {
  const server = new FakeSession(window);
  for (let i = 0; i < n; i++) {
    if (resets[i]) server.reset(resets[i]);
    server.receive([{ frameId: i }]);
  }
  return server.classified;
}

describe('SessionBatcher', () => {
  it('sends one frame per message until the window is known and a result anchors it', () => {
    const server = new FakeSession(W52);
    const { batcher } = stream(server, 8, { at: { 3: (b) => b.windowReported(W52) } });
    expect(server.messages.slice(0, 3)).toEqual([[0], [1], [2]]); // window unknown
    expect(batcher.aligned).toBe(true); // frame 3's progress result (fill 4/5) arrived at frame 5
  });

  it('then sends only at due windows: the same results, each as early, fewer messages', () => {
    const server = new FakeSession(W52);
    const { batcher } = stream(server, 60, { at: { 0: (b) => b.windowReported(W52) } });
    expect(server.classified).toEqual(oneByOne(W52, 60));
    expect(server.received).toEqual(Array.from({ length: 60 - batcher.held }, (_, i) => i));
    expect(server.lateResults()).toEqual([]);
    expect(server.messages.length).toBeLessThan(35); // 60 frames, stride 2
    expect(server.messages.slice(-5).map((m) => m.length)).toEqual([2, 2, 2, 2, 2]);
  });

  it('sends what it holds before a configure, and follows the window the configure made', () => {
    const W55: SessionWindow = { modelId: 'm', size: 5, stride: 5 };
    const server = new FakeSession(W52);
    stream(server, 80, {
      at: {
        0: (b) => b.windowReported(W52),
        31: (b) => {
          b.resync(); // useSocket does this just before it emits `configure`
          server.reset(W55); // the server handles the configure after the frames before it
        },
        33: (b) => b.windowReported(W55), // `configured` arrives
      },
    });
    expect(server.classified).toEqual(oneByOne(W52, 80, { 31: W55 }));
    expect(server.lateResults()).toEqual([]);
    expect(server.messages.slice(-4).map((m) => m.length)).toEqual([5, 5, 5, 5]);
  });

  it('finds a model switch it was not told of, asks, and comes back in step', () => {
    const other: SessionWindow = { modelId: 'n', size: 3, stride: 1 };
    const server = new FakeSession(W52);
    const asked = { count: 0 };
    const run = stream(server, 70, {
      asked,
      at: {
        0: (b) => b.windowReported(W52),
        25: () => server.reset(other), // another client activated model n
        32: (b) => {
          expect(asked.count).toBe(1); // a result of model n arrived
          b.windowReported(other); // the heartbeat it asked for
        },
      },
    });
    expect(server.received).toEqual(Array.from({ length: 70 - run.batcher.held }, (_, i) => i));
    expect(server.lateResults(35)).toEqual([]);
    expect(server.messages.slice(-5)).toEqual([[65], [66], [67], [68], [69]]); // stride 1
  });

  it('corrects itself from the results when the server reset without a word', () => {
    const server = new FakeSession({ modelId: 'm', size: 4, stride: 3 });
    const run = stream(server, 60, {
      latency: 3,
      at: {
        0: (b) => b.windowReported(server.window),
        20: () => server.reset({ modelId: 'm', size: 4, stride: 3 }), // the same window, restarted
      },
    });
    expect(server.received).toEqual(Array.from({ length: 60 - run.batcher.held }, (_, i) => i));
    expect(server.lateResults(30)).toEqual([]);
    expect(run.batcher.aligned).toBe(true);
  });

  it('takes the phase from a classification where no progress result comes (window 1)', () => {
    const server = new FakeSession({ modelId: 'm', size: 1, stride: 3 });
    const run = stream(server, 60, {
      at: {
        0: (b) => b.windowReported(server.window),
        20: () => server.reset({ modelId: 'm', size: 1, stride: 3 }),
      },
    });
    expect(server.received).toEqual(Array.from({ length: 60 - run.batcher.held }, (_, i) => i));
    expect(server.lateResults(30)).toEqual([]);
    expect(server.messages.slice(-3).map((m) => m.length)).toEqual([3, 3, 3]);
  });

  it('ignores results of frames sent before the window changed', () => {
    const sent: number[][] = [];
    const batcher = new SessionBatcher<Frame>({ send: (f) => sent.push(f.map((x) => x.frameId)), askWindow: () => {} });
    batcher.windowReported(W52);
    batcher.add({ frameId: 0 });
    batcher.windowReported({ ...W52, stride: 4 });
    batcher.resultReceived({ frame_id: 0, label: null, window_fill: 0.2, window_size: 5, model_id: 'm' });
    expect(batcher.aligned).toBe(false);
  });

  it('in JSON mode sends every frame alone', () => {
    const server = new FakeSession(W52);
    stream(server, 20, { batching: false, at: { 0: (b) => b.windowReported(W52) } });
    expect(server.messages).toEqual(Array.from({ length: 20 }, (_, i) => [i]));
    expect(server.classified).toEqual(oneByOne(W52, 20));
  });

  it('flushes what it holds when asked (pause), drops it when the session is gone', () => {
    const server = new FakeSession({ modelId: 'm', size: 1, stride: 10 });
    const { batcher } = stream(server, 15, { at: { 0: (b) => b.windowReported(server.window) } });
    expect(batcher.held).toBeGreaterThan(0);
    const held = batcher.held;
    const before = server.received.length;
    batcher.flush();
    expect(server.received.length).toBe(before + held);
    batcher.add({ frameId: 15 });
    batcher.add({ frameId: 16 });
    expect(batcher.held).toBe(2);
    expect(batcher.drop()).toBe(2);
    expect(batcher.aligned).toBe(false); // until a result of the next session
    batcher.sessionStarted();
    batcher.add({ frameId: 17 });
    expect(server.messages.at(-1)).toEqual([17]); // a new session: one per message until known
  });
});
