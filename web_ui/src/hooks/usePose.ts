// Pose in the page: tasks-vision's PoseLandmarker runs in a worker (src/workers/pose.worker.ts);
// this hook feeds it video frames at most `maxFps` times a second, smooths the landmarks if
// asked, and hands each result to `onPose`. Up to POSE_MAX_IN_FLIGHT frames are in flight, so the
// worker starts the next frame as soon as it finishes one instead of waiting for the camera. It measures what the page spends on the
// main thread per frame, so a freeze would show. With People > 1 it hands on every pose, unsmoothed
// (the detector's order changes from frame to frame; the server tracks who is who).
import { useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import {
  POSE_MAX_IN_FLIGHT,
  SMOOTHING_FILTERS,
  STATS_REFRESH_MS,
  poseModelUrl,
  wasmBaseUrl,
  type PoseSettings,
} from '../config';
import { noDetection, splitPoses, type PoseFrame } from '../lib/pose';
import { LandmarkSmoother } from '../lib/smoothing';
import { FrameRateLimiter, RateMeter, RollingMean } from '../lib/stats';
import type { PoseWorkerReply, PoseWorkerRequest } from '../workers/poseProtocol';
import { useVideoFrames } from './useVideoFrames';

export type PoseStatus = 'off' | 'loading' | 'ready' | 'error';

export interface PoseStats {
  /** Pose results per second. */
  fps: number;
  /** Mean detectForVideo time in the worker, ms. */
  inferenceMs: number;
  /** Mean main-thread time per processed frame (capture, drawing, sending), ms. */
  mainThreadMs: number;
  /** Main-thread tasks over 50 ms since the pose started (the page would stutter). */
  longTasks: number;
  /** Video frames not processed because the worker was still busy with earlier ones. */
  skipped: number;
  frames: number;
  /** Frames the model failed on, and why the last one failed. */
  failures: number;
  lastFailure: string | null;
}

export interface Pose {
  status: PoseStatus;
  error: string | null;
  loadMs: number | null;
  stats: PoseStats;
}

export const EMPTY_POSE_STATS: PoseStats = {
  fps: 0,
  inferenceMs: Number.NaN,
  mainThreadMs: Number.NaN,
  longTasks: 0,
  skipped: 0,
  frames: 0,
  failures: 0,
  lastFailure: null,
};

function newMeters() {
  return {
    rate: new RateMeter(2000),
    inference: new RollingMean(30),
    mainThread: new RollingMean(30),
    captureMs: new Map<number, number>(),
    longTasks: 0,
    skipped: 0,
    frames: 0,
    failures: 0,
    lastFailure: null as string | null,
  };
}

export function usePose(
  videoRef: RefObject<HTMLVideoElement | null>,
  settings: PoseSettings,
  /** People looked for, 1..MAX_PEOPLE. */
  numPoses: number,
  enabled: boolean,
  onPose: (frame: PoseFrame) => void,
): Pose {
  const [status, setStatus] = useState<PoseStatus>('off');
  const [error, setError] = useState<string | null>(null);
  const [loadMs, setLoadMs] = useState<number | null>(null);
  const [stats, setStats] = useState<PoseStats>(EMPTY_POSE_STATS);
  const workerRef = useRef<Worker | null>(null);
  const inFlight = useRef(0);
  const frameId = useRef(0);
  const onPoseRef = useRef(onPose);
  onPoseRef.current = onPose;
  const limiter = useRef(new FrameRateLimiter(settings.maxFps));
  limiter.current.setMaxFps(settings.maxFps);
  const smoother = useRef<LandmarkSmoother | null>(null);
  const meters = useRef(newMeters());

  useEffect(() => {
    smoother.current =
      settings.smoothing === 'off' ? null : new LandmarkSmoother(SMOOTHING_FILTERS[settings.smoothing]);
  }, [settings.smoothing]);

  // one worker per model / delegate / thresholds; a new one replaces the old
  useEffect(() => {
    if (!enabled) {
      setStatus('off');
      return;
    }
    setStatus('loading');
    setError(null);
    setLoadMs(null);
    const worker = new Worker(new URL('../workers/pose.worker.ts', import.meta.url), { type: 'module', name: 'pose' });
    workerRef.current = worker;
    inFlight.current = 0;
    meters.current = newMeters(); // numbers of the previous model would mislead
    const post = (message: PoseWorkerRequest, transfer: Transferable[] = []) => worker.postMessage(message, transfer);
    worker.onmessage = (event: MessageEvent<PoseWorkerReply>) => {
      const reply = event.data;
      if (reply.type === 'ready') {
        setStatus('ready');
        setLoadMs(reply.loadMs);
      } else if (reply.type === 'error') {
        if (reply.frameId !== undefined) inFlight.current = Math.max(0, inFlight.current - 1);
        if (!reply.fatal) {
          meters.current.failures += 1;
          meters.current.lastFailure = reply.message;
        } else {
          setStatus('error');
          setError(
            settings.delegate === 'GPU'
              ? `The GPU pose model could not start (${reply.message}); choose the CPU delegate.`
              : `The pose model could not start: ${reply.message}`,
          );
        }
      } else {
        const started = performance.now();
        inFlight.current = Math.max(0, inFlight.current - 1);
        const m = meters.current;
        const video = videoRef.current;
        const imageSize = video ? { width: video.videoWidth, height: video.videoHeight } : { width: 0, height: 0 };
        const poses = splitPoses(reply.landmarks);
        const { frameId, timestampMs } = reply;
        if (numPoses > 1) {
          onPoseRef.current({ landmarks: poses[0] ?? null, poses, frameId, timestampMs, imageSize });
        } else {
          const first = poses[0] ?? noDetection();
          const landmarks = smoother.current ? smoother.current.smooth(first, timestampMs) : first;
          onPoseRef.current({ landmarks, frameId, timestampMs, imageSize });
        }
        m.rate.tick(started);
        m.frames += 1;
        m.inference.add(reply.inferenceMs);
        m.mainThread.add((m.captureMs.get(reply.frameId) ?? 0) + performance.now() - started);
        m.captureMs.delete(reply.frameId);
      }
    };
    worker.onerror = (event) => {
      setStatus('error');
      setError(`The pose worker failed: ${event.message || 'unknown error'}`);
    };
    post({
      type: 'init',
      wasmBase: wasmBaseUrl(),
      modelUrl: poseModelUrl(settings.model),
      delegate: settings.delegate,
      numPoses,
      minPoseDetectionConfidence: settings.minPoseDetectionConfidence,
      minPosePresenceConfidence: settings.minPosePresenceConfidence,
      minTrackingConfidence: settings.minTrackingConfidence,
    });
    return () => {
      post({ type: 'close' });
      worker.terminate();
      workerRef.current = null;
    };
  }, [
    enabled,
    videoRef,
    settings.model,
    settings.delegate,
    numPoses,
    settings.minPoseDetectionConfidence,
    settings.minPosePresenceConfidence,
    settings.minTrackingConfidence,
  ]);

  useVideoFrames(videoRef, enabled && status === 'ready', (video, now) => {
    const worker = workerRef.current;
    if (!worker) return;
    if (inFlight.current >= POSE_MAX_IN_FLIGHT) {
      meters.current.skipped += 1;
      return;
    }
    if (!limiter.current.accept(now) || video.videoWidth === 0) return;
    const started = performance.now();
    inFlight.current += 1;
    const id = frameId.current++;
    const post = (image: VideoFrame | ImageBitmap) => {
      const message: PoseWorkerRequest = { type: 'frame', image, frameId: id, timestampMs: now };
      worker.postMessage(message, [image]);
    };
    const giveUp = () => {
      inFlight.current = Math.max(0, inFlight.current - 1); // no frame to give (source changing)
    };
    if (typeof VideoFrame === 'function') {
      // a VideoFrame refers to the decoded frame: the pixels are copied in the worker, not here
      try {
        post(new VideoFrame(video, { timestamp: Math.round(now * 1000) }));
      } catch {
        giveUp();
      }
    } else {
      createImageBitmap(video).then(post, giveUp);
    }
    meters.current.captureMs.set(id, performance.now() - started);
    if (meters.current.captureMs.size > 100) meters.current.captureMs.clear();
  });

  // long tasks: any main-thread task over 50 ms, whoever caused it
  useEffect(() => {
    if (
      !enabled ||
      typeof PerformanceObserver === 'undefined' ||
      !PerformanceObserver.supportedEntryTypes?.includes('longtask')
    )
      return;
    const observer = new PerformanceObserver((list) => {
      meters.current.longTasks += list.getEntries().length;
    });
    observer.observe({ type: 'longtask' });
    return () => observer.disconnect();
  }, [enabled]);

  useEffect(() => {
    if (!enabled) {
      setStats(EMPTY_POSE_STATS); // pose is off: its last numbers would read as current
      return;
    }
    const timer = setInterval(() => {
      const m = meters.current;
      setStats({
        fps: m.rate.rate(performance.now()),
        inferenceMs: m.inference.mean,
        mainThreadMs: m.mainThread.mean,
        longTasks: m.longTasks,
        skipped: m.skipped,
        frames: m.frames,
        failures: m.failures,
        lastFailure: m.lastFailure,
      });
    }, STATS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [enabled]);

  return useMemo(() => ({ status, error, loadMs, stats }), [status, error, loadMs, stats]);
}
