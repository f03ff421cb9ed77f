// The live connection to the API (Socket.IO, docs/api.md): sends `keypoints` or `frame`
// messages and `configure`, receives `frame_result`, `configured`, `heartbeat` and `error`,
// and reconnects by itself with exponential backoff, telling the user when the server is
// unreachable.
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import { HEARTBEAT_INTERVAL_MS, RECONNECT, STATS_REFRESH_MS, TIMELINE_SECONDS } from '../config';
import {
  connectionReducer,
  initialConnection,
  reconnectDelay,
  type ConnectionEvent,
  type ConnectionState,
} from '../lib/connection';
import {
  buildConfigureMessage,
  buildImageMessage,
  buildKeypointsMessage,
  toServerError,
  type Configured,
  type FrameResult,
  type Heartbeat,
  type ServerError,
  type SessionSettings,
  type SessionStatus,
} from '../lib/payload';
import type { PoseFrame } from '../lib/pose';
import { RateMeter, RollingMean } from '../lib/stats';
import { Timeline, type TimelinePoint } from '../lib/timeline';
import type { EncodedImage } from './useImageFrames';

export type SessionView = Pick<SessionStatus, 'model_id' | 'window_size' | 'stride' | 'window_fill'>;

export interface LiveStats {
  framesSent: number;
  imagesSent: number;
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

export interface Live {
  connection: ConnectionState;
  activeModelId: string | null;
  /** This connection's session on the server (model, window, stride), from `heartbeat` and
   * `configured`. */
  session: SessionView | null;
  lastResult: FrameResult | null;
  timeline: TimelinePoint[];
  stats: LiveStats;
  lastError: (ServerError & { at: number }) | null;
  lastHeartbeatAt: number | null;
  sendKeypoints: (frame: PoseFrame) => void;
  sendImage: (image: EncodedImage) => void;
  reconnectNow: () => void;
  /** Ask the server for its state now (after a model upload or switch). */
  refreshServerState: () => void;
}

const EMPTY_STATS: LiveStats = {
  framesSent: 0,
  imagesSent: 0,
  notSent: 0,
  latencyMs: Number.NaN,
  processingMs: Number.NaN,
  dropped: 0,
  resultsPerSecond: 0,
  errors: 0,
};
function sessionView(body: Partial<SessionStatus>): SessionView {
  return {
    model_id: body.model_id ?? null,
    window_size: body.window_size ?? null,
    stride: body.stride ?? null,
    window_fill: body.window_fill ?? 0,
  };
}

/** Send times kept for latency (entries older than this are dropped), ms. */
const SENT_TIMES_MAX_AGE_MS = 10_000;

export function useSocket(apiUrl: string, settings: SessionSettings): Live {
  const [connection, dispatch] = useReducer(
    (state: ConnectionState, event: ConnectionEvent) => connectionReducer(state, event, RECONNECT.unreachableAfter),
    initialConnection(apiUrl, Date.now()),
  );
  const [activeModelId, setActiveModelId] = useState<string | null>(null);
  const [session, setSession] = useState<SessionView | null>(null);
  const [lastResult, setLastResult] = useState<FrameResult | null>(null);
  const [timeline, setTimeline] = useState<TimelinePoint[]>([]);
  const [stats, setStats] = useState<LiveStats>(EMPTY_STATS);
  const [lastError, setLastError] = useState<Live['lastError']>(null);
  const [lastHeartbeatAt, setLastHeartbeatAt] = useState<number | null>(null);
  const socketRef = useRef<Socket | null>(null);
  const retryNow = useRef<() => void>(() => undefined);
  const hasModel = useRef(false);
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const counters = useRef({
    framesSent: 0,
    imagesSent: 0,
    notSent: 0,
    dropped: 0,
    errors: 0,
    latency: new RollingMean(30),
    processing: new RollingMean(30),
    results: new RateMeter(2000),
    sentAt: new Map<number, number>(),
    timeline: new Timeline(TIMELINE_SECONDS),
  });

  useEffect(() => {
    let stopped = false;
    let failures = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    const socket = io(apiUrl, {
      autoConnect: false,
      reconnection: false, // reconnection is ours: backoff and the user's "retry now"
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
      timeout: RECONNECT.connectTimeoutMs,
    });
    socketRef.current = socket;
    hasModel.current = false;
    setActiveModelId(null);
    setSession(null);
    dispatch({ type: 'start', url: apiUrl, now: Date.now() });

    const attempt = () => {
      if (stopped || socket.connected) return;
      clearTimeout(retryTimer);
      dispatch({ type: 'attempt', now: Date.now() });
      socket.connect();
    };
    retryNow.current = attempt;
    const retryLater = (event: 'failed' | 'closed', why: string) => {
      if (stopped) return;
      failures = event === 'closed' ? 1 : failures + 1;
      const retryInMs = reconnectDelay(failures, RECONNECT);
      dispatch(
        event === 'failed'
          ? { type: 'failed', error: why, retryInMs, now: Date.now() }
          : { type: 'closed', reason: why, retryInMs, now: Date.now() },
      );
      clearTimeout(retryTimer);
      retryTimer = setTimeout(attempt, retryInMs);
    };
    const configure = () => {
      const message = buildConfigureMessage(settingsRef.current);
      if (Object.keys(message).length > 0) socket.emit('configure', message);
    };

    socket.on('connect', () => {
      failures = 0;
      dispatch({ type: 'connected', now: Date.now() });
      counters.current.sentAt.clear();
      counters.current.dropped = 0; // a new session on the server
      configure();
    });
    socket.on('connect_error', (err: Error & { data?: { message?: string } }) => {
      retryLater('failed', err.data?.message ?? err.message);
    });
    socket.on('disconnect', (reason: string) => {
      hasModel.current = false;
      if (reason !== 'io client disconnect') retryLater('closed', reason);
    });
    socket.on('heartbeat', (body: Heartbeat) => {
      setLastHeartbeatAt(Date.now());
      setActiveModelId(body?.active_model_id ?? null);
      hasModel.current = Boolean(body?.active_model_id || body?.session?.model_id);
      if (body?.session) setSession(sessionView(body.session));
    });
    socket.on('configured', (body: Configured) => {
      setSession(sessionView(body));
      if (body?.model_id) hasModel.current = true;
    });
    socket.on('frame_result', (result: FrameResult) => {
      const now = performance.now();
      const c = counters.current;
      const answers = result.results && result.results.length > 0 ? result.results : [result];
      for (const answer of answers) {
        c.processing.add(answer.processing_ms);
        const sent = answer.frame_id === null ? undefined : c.sentAt.get(answer.frame_id);
        if (sent !== undefined) c.latency.add(now - sent);
        if (answer.label !== null) c.results.tick(now);
      }
      if (result.frame_id !== null) {
        for (const id of c.sentAt.keys()) if (id <= result.frame_id) c.sentAt.delete(id);
      }
      c.dropped = result.dropped ?? c.dropped;
      c.timeline.add(result, Date.now());
      hasModel.current = true;
      setLastResult(result);
    });
    socket.on('error', (body: unknown) => {
      const error = toServerError(body);
      counters.current.errors += 1;
      if (error.code === 'no_model') hasModel.current = false;
      setLastError({ ...error, at: Date.now() });
    });
    attempt();

    const heartbeat = setInterval(() => socket.connected && socket.emit('heartbeat'), HEARTBEAT_INTERVAL_MS);
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(heartbeat);
      socket.removeAllListeners();
      socket.disconnect();
      socketRef.current = null;
      dispatch({ type: 'stop', now: Date.now() });
    };
  }, [apiUrl]);

  // a changed video size or overlap is sent to the server right away; a cleared overlap goes
  // back to the model's
  const { imageSize, overlap } = settings;
  useEffect(() => {
    const socket = socketRef.current;
    if (!socket?.connected) return;
    socket.emit('configure', { overlap: null, ...buildConfigureMessage({ imageSize, overlap }) });
  }, [imageSize?.width, imageSize?.height, overlap]);

  // the panels are refreshed a few times a second, not on every frame
  useEffect(() => {
    const timer = setInterval(() => {
      const c = counters.current;
      const now = performance.now();
      for (const [id, sent] of c.sentAt) if (now - sent > SENT_TIMES_MAX_AGE_MS) c.sentAt.delete(id);
      setStats({
        framesSent: c.framesSent,
        imagesSent: c.imagesSent,
        notSent: c.notSent,
        latencyMs: c.latency.mean,
        processingMs: c.processing.mean,
        dropped: c.dropped,
        resultsPerSecond: c.results.rate(now),
        errors: c.errors,
      });
      setTimeline(c.timeline.snapshot(Date.now()));
    }, STATS_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const ready = (): Socket | null => {
    const socket = socketRef.current;
    if (!socket?.connected || !hasModel.current) {
      counters.current.notSent += 1;
      return null;
    }
    return socket;
  };

  const sendKeypoints = useCallback((frame: PoseFrame) => {
    const socket = ready();
    if (!socket) return;
    counters.current.sentAt.set(frame.frameId, performance.now());
    socket.emit('keypoints', buildKeypointsMessage(frame));
    counters.current.framesSent += 1;
  }, []);

  const sendImage = useCallback((image: EncodedImage) => {
    const socket = ready();
    if (!socket) return;
    counters.current.sentAt.set(image.frameId, performance.now());
    socket.emit('frame', buildImageMessage(image.image, image.frameId, image.timestampMs));
    counters.current.imagesSent += 1;
  }, []);

  const reconnectNow = useCallback(() => retryNow.current(), []);
  // the answers (a heartbeat, `configured`) say whether the server now has a model, and its window
  const refreshServerState = useCallback(() => {
    const socket = socketRef.current;
    if (!socket?.connected) return;
    socket.emit('heartbeat');
    socket.emit('configure', buildConfigureMessage(settingsRef.current)); // answered with the new window
  }, []);

  return {
    connection,
    activeModelId,
    session,
    lastResult,
    timeline,
    stats,
    lastError,
    lastHeartbeatAt,
    sendKeypoints,
    sendImage,
    reconnectNow,
    refreshServerState,
  };
}
