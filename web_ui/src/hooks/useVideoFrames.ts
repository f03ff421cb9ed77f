// Calls `onVideoFrame` once per new frame of a <video> (requestVideoFrameCallback where the
// browser has it, else once per animation frame) while `enabled`.
import { useEffect, useRef, type RefObject } from 'react';

type FrameCallbackVideo = HTMLVideoElement & {
  requestVideoFrameCallback?: (callback: (now: number) => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

export function useVideoFrames(
  videoRef: RefObject<HTMLVideoElement | null>,
  enabled: boolean,
  onVideoFrame: (video: HTMLVideoElement, nowMs: number) => void,
): void {
  const callback = useRef(onVideoFrame);
  callback.current = onVideoFrame;

  useEffect(() => {
    const video = videoRef.current as FrameCallbackVideo | null;
    if (!enabled || !video) return;
    let stopped = false;
    let handle = 0;
    const perFrame = typeof video.requestVideoFrameCallback === 'function';
    const schedule = () => {
      if (stopped) return;
      handle = perFrame
        ? (video.requestVideoFrameCallback as NonNullable<FrameCallbackVideo['requestVideoFrameCallback']>)(tick)
        : requestAnimationFrame(tick);
    };
    let lastTime = -1;
    const tick = () => {
      if (stopped) return;
      const now = performance.now();
      // without requestVideoFrameCallback, skip animation frames that show no new video frame
      if (video.readyState >= 2 && (perFrame || video.currentTime !== lastTime)) {
        lastTime = video.currentTime;
        callback.current(video, now);
      }
      schedule();
    };
    schedule();
    return () => {
      stopped = true;
      if (perFrame) video.cancelVideoFrameCallback?.(handle);
      else cancelAnimationFrame(handle);
    };
  }, [videoRef, enabled]);
}
