// Shows a camera stream or a local video file in a <video> element and reports its size.
import { useEffect, useState, type RefObject } from 'react';
import type { ImageSize } from '../lib/pose';

export type VideoInput = { kind: 'camera'; stream: MediaStream | null } | { kind: 'file'; file: File | null };

export interface VideoElementState {
  imageSize: ImageSize | null;
  playing: boolean;
  error: string | null;
}

export function useVideoElement(videoRef: RefObject<HTMLVideoElement | null>, input: VideoInput): VideoElementState {
  const [imageSize, setImageSize] = useState<ImageSize | null>(null);
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const stream = input.kind === 'camera' ? input.stream : null;
  const file = input.kind === 'file' ? input.file : null;

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    setError(null);
    let url: string | null = null;
    if (stream) {
      video.srcObject = stream;
      video.loop = false;
    } else if (file) {
      url = URL.createObjectURL(file);
      video.srcObject = null;
      video.src = url;
      video.loop = true;
    } else {
      video.srcObject = null;
      video.removeAttribute('src');
      video.load();
      setImageSize(null);
      setPlaying(false);
      return;
    }
    const onSize = () => {
      if (video.videoWidth > 0 && video.videoHeight > 0) {
        setImageSize((old) =>
          old && old.width === video.videoWidth && old.height === video.videoHeight
            ? old
            : { width: video.videoWidth, height: video.videoHeight },
        );
      }
    };
    const onPlaying = () => setPlaying(true);
    const onPause = () => setPlaying(false);
    const onError = () =>
      setError(file ? `${file.name} cannot be played by this browser.` : 'The video stopped with an error.');
    video.addEventListener('loadedmetadata', onSize);
    video.addEventListener('resize', onSize);
    video.addEventListener('playing', onPlaying);
    video.addEventListener('pause', onPause);
    video.addEventListener('error', onError);
    video.muted = true;
    video.play().catch(() => {
      // autoplay refused or interrupted by a newer source: the controls still let the user start it
    });
    return () => {
      video.removeEventListener('loadedmetadata', onSize);
      video.removeEventListener('resize', onSize);
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('pause', onPause);
      video.removeEventListener('error', onError);
      if (url) URL.revokeObjectURL(url);
    };
  }, [videoRef, stream, file]);

  return { imageSize, playing, error };
}
