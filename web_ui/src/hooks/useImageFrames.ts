// For clients too weak to run pose: encodes video frames as JPEG (at most `maxFps` a second,
// scaled to at most `maxWidth` pixels wide) and hands them to `onImage` for the `frame` event.
import { useRef, type RefObject } from 'react';
import type { ImageSize } from '../lib/pose';
import { FrameRateLimiter } from '../lib/stats';
import { useVideoFrames } from './useVideoFrames';

export interface EncodedImage {
  image: ArrayBuffer;
  frameId: number;
  timestampMs: number;
  imageSize: ImageSize;
}

export interface ImageFrameOptions {
  maxFps: number;
  maxWidth: number;
  quality: number;
}

/** Scaled size of a width x height frame so that it is at most maxWidth wide. */
export function scaledSize(width: number, height: number, maxWidth: number): ImageSize {
  const scale = width > maxWidth ? maxWidth / width : 1;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export function useImageFrames(
  videoRef: RefObject<HTMLVideoElement | null>,
  enabled: boolean,
  options: ImageFrameOptions,
  onImage: (image: EncodedImage) => void,
): void {
  const limiter = useRef(new FrameRateLimiter(options.maxFps));
  limiter.current.setMaxFps(options.maxFps);
  const busy = useRef(false);
  const frameId = useRef(0);
  const canvas = useRef<OffscreenCanvas | null>(null);
  const onImageRef = useRef(onImage);
  onImageRef.current = onImage;

  useVideoFrames(videoRef, enabled, (video, now) => {
    if (busy.current || video.videoWidth === 0 || !limiter.current.accept(now)) return;
    const size = scaledSize(video.videoWidth, video.videoHeight, options.maxWidth);
    if (!canvas.current) canvas.current = new OffscreenCanvas(size.width, size.height);
    const target = canvas.current;
    if (target.width !== size.width || target.height !== size.height) {
      target.width = size.width;
      target.height = size.height;
    }
    const ctx = target.getContext('2d');
    if (!ctx) return;
    ctx.drawImage(video, 0, 0, size.width, size.height);
    busy.current = true;
    const id = frameId.current++;
    target
      .convertToBlob({ type: 'image/jpeg', quality: options.quality })
      .then((blob) => blob.arrayBuffer())
      .then((image) =>
        onImageRef.current({
          image,
          frameId: id,
          timestampMs: now,
          imageSize: { width: video.videoWidth, height: video.videoHeight },
        }),
      )
      .catch(() => undefined) // a frame that could not be encoded is skipped
      .finally(() => {
        busy.current = false;
      });
  });
}
