import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeypointsFormat } from '../config';
import { LiveStatsCollector } from '../lib/liveStats';
import type { FrameResult, SessionSettings } from '../lib/payload';
import type { PoseFrame } from '../lib/pose';
import { decodeFrames } from '../test/spk1';
import { useSocket } from './useSocket';

type Listener = (...args: never[]) => void;

/** Listeners by event, fired by the test. */
class Emitter {
  private listeners = new Map<string, Set<Listener>>();
  on(event: string, listener: Listener) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)?.add(listener);
    return this;
  }
  off(event: string, listener: Listener) {
    this.listeners.get(event)?.delete(listener);
    return this;
  }
  removeAllListeners() {
    this.listeners.clear();
    return this;
  }
  count(event: string): number {
    return this.listeners.get(event)?.size ?? 0;
  }
  fire(event: string, ...args: unknown[]) {
    act(() => this.listeners.get(event)?.forEach((listener) => (listener as (...a: unknown[]) => void)(...args)));
  }
}

/** socket.io-client's Socket as far as the hook uses it; `io` is its Manager. */
class FakeSocket extends Emitter {
  io = new Emitter();
  connected = false;
  active = false;
  calls: string[] = [];
  emitted: [string, unknown[]][] = [];
  emit(event: string, ...args: unknown[]) {
    this.emitted.push([event, args]);
    return this;
  }
  connect() {
    this.active = true;
    this.calls.push('connect');
    return this;
  }
  disconnect() {
    this.active = false;
    this.calls.push('disconnect');
    if (this.connected) {
      this.connected = false;
      this.fire('disconnect', 'io client disconnect');
    }
    return this;
  }
  /** The server accepted the connection. */
  accept() {
    this.connected = true;
    this.fire('connect');
  }
}

const sockets: { url: string; options: Record<string, unknown>; socket: FakeSocket }[] = [];
vi.mock('socket.io-client', () => ({
  io: (url: string, options: Record<string, unknown>) => {
    const socket = new FakeSocket();
    sockets.push({ url, options, socket });
    return socket;
  },
}));

const frame: PoseFrame = { landmarks: null, frameId: 4, timestampMs: 10, imageSize: { width: 640, height: 360 } };

const SETTINGS: SessionSettings = {
  imageSize: { width: 640, height: 360 },
  overlap: null,
  modelId: null,
  includeFeatures: false,
};

function open(settings: SessionSettings = SETTINGS, format: KeypointsFormat = 'binary') {
  const stats = new LiveStatsCollector(20);
  const hook = renderHook(({ url, session }) => useSocket(url, session, stats, format), {
    initialProps: { url: 'http://api', session: settings },
  });
  const { socket } = sockets[sockets.length - 1];
  return { hook, socket, stats, state: () => hook.result.current.connection };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  sockets.length = 0;
});
afterEach(() => vi.useRealTimers());

describe('useSocket', () => {
  it("leaves reconnection to socket.io-client's Manager", () => {
    const { socket, state } = open();
    expect(sockets[0].url).toBe('http://api');
    expect(sockets[0].options).toMatchObject({
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 8000,
      randomizationFactor: 0.25,
      timeout: 5000,
      autoConnect: false,
      forceNew: true,
    });
    expect(socket.calls).toEqual(['connect']);
    expect(state().status).toBe('connecting');
    socket.accept();
    expect(state().status).toBe('connected');
    expect(socket.emitted).toContainEqual([
      'configure',
      [{ image_size: { width: 640, height: 360 }, overlap: null, model_id: null, include_features: false }],
    ]);
  });

  it("tells the user socket.io's retries: reconnecting, then unreachable, then connected", () => {
    const { socket, state } = open();
    socket.accept();
    socket.connected = false;
    socket.fire('disconnect', 'transport close');
    expect(state()).toMatchObject({ status: 'reconnecting', lastError: 'transport close', retryAt: Date.now() + 500 });
    socket.io.fire('reconnect_attempt', 1);
    expect(state().retryAt).toBeNull();
    socket.fire('connect_error', new Error('xhr poll error'));
    expect(state()).toMatchObject({ status: 'reconnecting', failures: 1, retryAt: Date.now() + 1000 });
    socket.io.fire('reconnect_attempt', 2);
    socket.fire('connect_error', new Error('websocket error'));
    expect(state()).toMatchObject({ status: 'unreachable', failures: 2, retryAt: Date.now() + 2000 });
    socket.io.fire('reconnect', 3);
    socket.accept();
    expect(state()).toMatchObject({ status: 'connected', failures: 0 });
    expect(socket.calls).toEqual(['connect']); // every retry was socket.io's own
  });

  it('retries a connection the server refused, which socket.io does not', () => {
    const { socket, state } = open();
    socket.active = false; // a refused connection ends the socket's reconnection
    socket.fire('connect_error', Object.assign(new Error('refused'), { data: { message: 'too many sessions' } }));
    expect(state()).toMatchObject({ lastError: 'too many sessions', retryAt: Date.now() + 500 });
    act(() => vi.advanceTimersByTime(500));
    expect(socket.calls).toEqual(['connect', 'connect']);
  });

  it('reconnects at once when the server closed the session', () => {
    const { socket, state } = open();
    socket.accept();
    socket.connected = false;
    socket.active = false;
    socket.fire('disconnect', 'io server disconnect');
    expect(socket.calls).toEqual(['connect', 'connect']);
    expect(state().status).toBe('reconnecting');
  });

  it('"Retry now" drops the pending retry and connects at once', () => {
    const { hook, socket } = open();
    socket.fire('connect_error', new Error('xhr poll error'));
    act(() => hook.result.current.reconnectNow());
    expect(socket.calls).toEqual(['connect', 'disconnect', 'connect']);
  });

  it('sends frames only while the server has a model, and counts them', () => {
    const { hook, socket, stats } = open(undefined, 'json');
    socket.accept();
    act(() => hook.result.current.sendKeypoints(frame));
    expect(stats.stats(0)).toMatchObject({ framesSent: 0, notSent: 1 });
    socket.fire('heartbeat', { server_time: 1, active_model_id: 'm', session: null });
    act(() => hook.result.current.sendKeypoints(frame));
    expect(stats.stats(0)).toMatchObject({ framesSent: 1, notSent: 1 });
    expect(socket.emitted.at(-1)).toEqual([
      'keypoints',
      [{ landmarks: [], frame_id: 4, timestamp: 10, image_size: { width: 640, height: 360 } }],
    ]);
    socket.fire('error', { code: 'no_model', message: 'upload one' });
    expect(hook.result.current.lastError).toMatchObject({ code: 'no_model', message: 'upload one' });
    act(() => hook.result.current.sendKeypoints(frame));
    expect(stats.stats(0)).toMatchObject({ framesSent: 1, notSent: 2, errors: 1 });
  });

  /** The frame ids of each binary `keypoints` message emitted so far. */
  const binaryMessages = (socket: FakeSocket) =>
    socket.emitted
      .filter(([event, args]) => event === 'keypoints' && args[0] instanceof ArrayBuffer)
      .map(([, args]) => decodeFrames(args[0] as ArrayBuffer).frameIds);
  const poseFrame = (frameId: number): PoseFrame => ({ ...frame, frameId });
  const result = (frameId: number, patch: Partial<FrameResult> = {}): FrameResult => ({
    label: 'A',
    classification: 'A',
    probabilities: null,
    frame_id: frameId,
    timestamp: null,
    window_fill: 1,
    window_size: 5,
    processing_ms: 1,
    dropped: 0,
    model_id: 'm',
    backend: 'in_process',
    ...patch,
  });
  const status = { model_id: 'm', window_size: 5, stride: 2, window_fill: 0, sid: 's' };

  it('sends binary messages that end on the due windows once the window is known', () => {
    const { hook, socket, stats } = open();
    socket.accept();
    socket.fire('heartbeat', { server_time: 1, active_model_id: 'm', session: null });
    const send = (id: number) => act(() => hook.result.current.sendKeypoints(poseFrame(id)));
    send(0); // the window is not known yet: one frame per message
    socket.fire('configured', { ...status, following_active: true, image_size: null, include_features: false });
    send(1); // nor anchored: a result of a frame sent from now on says where the window stands
    socket.fire('frame_result', result(1, { label: null, window_fill: 0.4 })); // 2 of 5 frames
    for (let id = 2; id <= 8; id++) send(id);
    // window 5, stride 2: windows end on the 5th frame, then every 2nd (frame ids 4, 6, 8)
    expect(binaryMessages(socket)).toEqual([[0], [1], [2, 3, 4], [5, 6], [7, 8]]);
    send(9);
    expect(stats.stats(0)).toMatchObject({ framesSent: 9, messagesSent: 5 });
    act(() => hook.result.current.flushKeypoints()); // the source paused: the held frame goes now
    expect(binaryMessages(socket).at(-1)).toEqual([9]);
    send(10); // due
    send(11);
    socket.connected = false;
    socket.fire('disconnect', 'transport close'); // frame 11 was held for a session that is gone
    expect(stats.stats(0)).toMatchObject({ framesSent: 11, messagesSent: 7, notSent: 1 });
    expect(binaryMessages(socket)).toEqual([[0], [1], [2, 3, 4], [5, 6], [7, 8], [9], [10]]);
  });

  /** A session whose window (5, stride 2) is anchored by a result for frame 0, with frames 1 and
   * 2 held (the window ends on frame 4). */
  const anchoredWithTwoHeld = () => {
    const opened = open();
    const { hook, socket } = opened;
    socket.accept();
    socket.fire('heartbeat', { server_time: 1, active_model_id: 'm', session: status });
    const send = (id: number) => act(() => hook.result.current.sendKeypoints(poseFrame(id)));
    send(0);
    socket.fire('frame_result', result(0, { label: null, window_fill: 0.2 }));
    send(1);
    send(2);
    return { ...opened, send };
  };

  it('a configure goes after the frames held, then frames go one per message until a result', () => {
    const { hook, socket, send } = anchoredWithTwoHeld();
    act(() => hook.result.current.refreshServerState()); // e.g. after a model upload
    const events = socket.emitted.map(([event]) => event);
    expect(events.slice(-3)).toEqual(['heartbeat', 'keypoints', 'configure']);
    expect(binaryMessages(socket)).toEqual([[0], [1, 2]]);
    send(3);
    expect(binaryMessages(socket).at(-1)).toEqual([3]);
  });

  it('a warning is shown, and the frames keep going in batches to the due windows', () => {
    const { hook, socket, send } = anchoredWithTwoHeld();
    const warning = { code: 'behind' as const, message: 'late', lag_ms: 300, frames_shed: 12 };
    socket.fire('warning', warning);
    expect(hook.result.current.lastWarning).toMatchObject(warning);
    send(3);
    send(4); // completes the window ending at frame 4
    expect(binaryMessages(socket)).toEqual([[0], [1, 2, 3, 4]]);
  });

  it('sends JSON, one message per frame, when asked to', () => {
    const { hook, socket, stats } = open(undefined, 'json');
    socket.accept();
    socket.fire('heartbeat', { server_time: 1, active_model_id: 'm', session: status });
    for (let id = 0; id < 6; id++) {
      act(() => hook.result.current.sendKeypoints(poseFrame(id)));
      socket.fire('frame_result', result(id, { label: id >= 4 ? 'A' : null, window_fill: Math.min(1, (id + 1) / 5) }));
    }
    const sent = socket.emitted.filter(([event]) => event === 'keypoints').map(([, args]) => args[0]);
    expect(sent.map((m) => (m as { frame_id: number }).frame_id)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(stats.stats(0)).toMatchObject({ framesSent: 6, messagesSent: 6 });
  });

  it('a new API URL gets a new socket; the old one is closed with its listeners', () => {
    const { hook, socket } = open();
    expect(socket.io.count('reconnect_attempt')).toBe(1);
    hook.rerender({ url: 'http://other', session: SETTINGS });
    expect(socket.calls).toEqual(['connect', 'disconnect']);
    expect(socket.io.count('reconnect_attempt')).toBe(0);
    expect(sockets.map((s) => s.url)).toEqual(['http://api', 'http://other']);
    expect(hook.result.current.connection).toMatchObject({ status: 'connecting', url: 'http://other' });
  });

  const configures = (socket: FakeSocket) =>
    socket.emitted.filter(([event]) => event === 'configure').map(([, args]) => args[0]);

  it('sends all its settings again on every connect: a session on a restarted server starts from defaults', () => {
    const pinned: SessionSettings = { ...SETTINGS, overlap: 3, modelId: 'abc', includeFeatures: true };
    const { socket } = open(pinned);
    const full = { image_size: { width: 640, height: 360 }, overlap: 3, model_id: 'abc', include_features: true };
    socket.accept();
    expect(configures(socket)).toEqual([full]);
    socket.connected = false;
    socket.fire('disconnect', 'transport close'); // a network blip: socket.io reconnects by itself
    socket.accept();
    socket.connected = false;
    socket.active = false;
    socket.fire('disconnect', 'io server disconnect'); // a worker restart closed the session
    socket.accept();
    expect(configures(socket)).toEqual([full, full, full]);
  });

  it('a changed setting sends the full configure; a video size going away sends none', () => {
    const { hook, socket } = open();
    socket.accept();
    hook.rerender({ url: 'http://api', session: { ...SETTINGS, overlap: 2 } });
    hook.rerender({ url: 'http://api', session: { ...SETTINGS, overlap: 2, imageSize: null } });
    hook.rerender({ url: 'http://api', session: { ...SETTINGS, overlap: 2, imageSize: { width: 1280, height: 720 } } });
    expect(configures(socket)).toEqual([
      { image_size: { width: 640, height: 360 }, overlap: null, model_id: null, include_features: false },
      { image_size: { width: 640, height: 360 }, overlap: 2, model_id: null, include_features: false },
      { image_size: { width: 1280, height: 720 }, overlap: 2, model_id: null, include_features: false },
    ]);
  });

  it('sends no frame without a real image size (a source that went away while pose ran on it)', () => {
    const { hook, socket, stats } = open(undefined, 'json');
    socket.accept();
    socket.fire('heartbeat', { server_time: 1, active_model_id: 'm', session: status });
    act(() => hook.result.current.sendKeypoints({ ...frame, imageSize: { width: 0, height: 0 } }));
    const image = { image: new ArrayBuffer(3), frameId: 1, timestampMs: 1, imageSize: { width: 0, height: 0 } };
    act(() => hook.result.current.sendImage(image));
    expect(socket.emitted.filter(([event]) => event === 'keypoints' || event === 'frame')).toEqual([]);
    expect(stats.stats(0)).toMatchObject({ framesSent: 0, imagesSent: 0, messagesSent: 0 });
  });

  it('an error goes once a frame sent after it is classified; an error about the settings stays', () => {
    const { hook, socket } = open(undefined, 'json');
    socket.accept();
    socket.fire('heartbeat', { server_time: 1, active_model_id: 'm', session: status });
    act(() => hook.result.current.sendKeypoints(poseFrame(1)));
    socket.fire('error', { code: 'bad_type', message: 'image_size 0x0' });
    socket.fire('frame_result', result(1)); // sent before the error: proves nothing
    expect(hook.result.current.lastError).toMatchObject({ code: 'bad_type' });
    act(() => hook.result.current.sendKeypoints(poseFrame(2)));
    socket.fire('frame_result', result(2, { label: null, window_fill: 0.5 })); // not a classification
    expect(hook.result.current.lastError).not.toBeNull();
    socket.fire('frame_result', result(2));
    expect(hook.result.current.lastError).toBeNull();

    socket.fire('error', { code: 'bad_overlap', message: 'overlap 9 >= window 5' });
    act(() => hook.result.current.sendKeypoints(poseFrame(3)));
    socket.fire('frame_result', result(3));
    expect(hook.result.current.lastError).toMatchObject({ code: 'bad_overlap' });
  });

  it('shows no result while the source has no video, and none that arrives for it late', () => {
    const { hook, socket } = open();
    socket.accept();
    socket.fire('frame_result', result(1));
    expect(hook.result.current.lastResult?.label).toBe('A');
    hook.rerender({ url: 'http://api', session: { ...SETTINGS, imageSize: null } });
    expect(hook.result.current.lastResult).toBeNull();
    socket.fire('frame_result', result(2)); // a frame sent before the source went away
    expect(hook.result.current.lastResult).toBeNull();
  });

  describe('several people', () => {
    const PEOPLE: SessionSettings = { ...SETTINGS, numPoses: 2 };
    const people = (frameId: number, tracks: number[]) => ({
      frames: [{ frame_id: frameId, track_ids: tracks, boxes: tracks.map(() => null), subject: tracks[0] ?? null }],
      tracks,
    });

    it('keeps the tracks alive from each people answer and hands every answer to the listener', () => {
      const { hook, socket } = open(PEOPLE);
      const heard: unknown[] = [];
      act(() => hook.result.current.setPeopleListener((message) => heard.push(message)));
      socket.accept();
      socket.fire('people', people(1, [1, 3]));
      const tracks = hook.result.current.tracks;
      expect(tracks).toEqual([1, 3]);
      socket.fire('people', people(2, [1, 3]));
      expect(hook.result.current.tracks).toBe(tracks); // the same ids: nothing re-renders
      expect(heard).toEqual([people(1, [1, 3]), people(2, [1, 3])]);
      act(() => hook.result.current.setPeopleListener(null));
      socket.fire('people', people(3, [3]));
      expect(heard.length).toBe(2);
      expect(hook.result.current.tracks).toEqual([3]);
    });

    it('sends the person chosen with the full configure; a new session or People setting starts from auto', () => {
      const { hook, socket } = open(PEOPLE);
      socket.accept();
      socket.fire('people', people(1, [1, 3]));
      act(() => hook.result.current.chooseSubject(3));
      expect(hook.result.current.subject).toBe(3);
      const full = { image_size: { width: 640, height: 360 }, overlap: null, model_id: null, include_features: false };
      expect(configures(socket)).toEqual([
        { ...full, num_poses: 2, subject: null },
        { ...full, num_poses: 2, subject: 3 },
      ]);
      socket.connected = false;
      socket.fire('disconnect', 'transport close');
      socket.accept(); // a new session: its tracker has other ids
      expect(configures(socket).at(-1)).toEqual({ ...full, num_poses: 2, subject: null });
      expect([hook.result.current.subject, hook.result.current.tracks]).toEqual([null, []]);

      act(() => hook.result.current.chooseSubject(1));
      hook.rerender({ url: 'http://api', session: { ...PEOPLE, numPoses: 3 } });
      expect(configures(socket).at(-1)).toEqual({ ...full, num_poses: 3, subject: null });
      expect(hook.result.current.subject).toBeNull();
    });

    it('sends each frame of several people as its own JSON message (SPK1 holds one pose)', () => {
      const { hook, socket, stats } = open(PEOPLE);
      socket.accept();
      socket.fire('heartbeat', { server_time: 1, active_model_id: 'm', session: status });
      const landmarks = new Float32Array(33 * 4).fill(0.5);
      const send = (id: number) =>
        act(() => {
          expect(hook.result.current.sendKeypoints({ ...poseFrame(id), poses: [landmarks, landmarks] })).toBe(true);
        });
      send(0);
      socket.fire('frame_result', result(0, { label: null, window_fill: 0.2 })); // anchored: window ends at 4
      for (let id = 1; id <= 4; id++) send(id);
      const sent = socket.emitted.filter(([event]) => event === 'keypoints').map(([, args]) => args[0]);
      expect(sent.some((m) => m instanceof ArrayBuffer)).toBe(false);
      // not held for the due window: each frame's people answer (its colours) comes back at once
      const frames = sent.map((m) => (m as { frames?: { frame_id: number; landmarks: unknown[] }[] }).frames ?? [m]);
      expect(frames.map((f) => f.length)).toEqual([1, 1, 1, 1, 1]);
      expect(
        sent.map(
          (m) =>
            (m as { frames?: { frame_id: number }[]; frame_id?: number }).frames?.[0].frame_id ??
            (m as { frame_id: number }).frame_id,
        ),
      ).toEqual([0, 1, 2, 3, 4]);
      expect(stats.stats(0)).toMatchObject({ framesSent: 5, messagesSent: 5 });
      socket.connected = false;
      socket.fire('disconnect', 'transport close');
      act(() => {
        expect(hook.result.current.sendKeypoints(poseFrame(5))).toBe(false); // not sent: drawn grey at once
      });
    });
  });
});
