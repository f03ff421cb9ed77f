// Shows a camera stream or a local video file in a <video> element, plays it while `running`
// and reports its size. A file's own controls (play, pause) set `running` too.
import { useEffect, useState, type RefObject } from 'react';
import type { ImageSize } from '../lib/pose';

export type VideoInput = { kind: 'camera'; stream: MediaStream | null } | { kind: 'file'; file: File | null };

export interface VideoElementState {
  /** The video's size in pixels; null while there is no video (no stream, no file). */
  imageSize: ImageSize | null;
  playing: boolean;
  error: string | null;
}

export function useVideoElement(
  videoRef: RefObject<HTMLVideoElement | null>,
  input: VideoInput,
  running: boolean,
  setRunning: (running: boolean) => void,
): VideoElementState {
  const [imageSize, setImageSize] = useState<ImageSize | null>(null);
  const [playing, setPlaying] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const stream = input.kind === 'camera' ? input.stream : null;
  const file = input.kind === 'file' ? input.file : null;

  useEffect(() => {
    const video = videoRef.current;
    if (!video) return;
    setError(null);
    setImageSize(null); // the new source's size comes with its metadata
    setPlaying(false);
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
    // the file's own play and pause buttons are Start and Pause
    const onUserPlay = () => setRunning(true);
    const onUserPause = () => setRunning(false);
    video.addEventListener('loadedmetadata', onSize);
    video.addEventListener('resize', onSize);
    video.addEventListener('playing', onPlaying);
    video.addEventListener('pause', onPause);
    video.addEventListener('error', onError);
    if (file) {
      video.addEventListener('play', onUserPlay);
      video.addEventListener('pause', onUserPause);
    }
    video.muted = true;
    return () => {
      video.removeEventListener('loadedmetadata', onSize);
      video.removeEventListener('resize', onSize);
      video.removeEventListener('playing', onPlaying);
      video.removeEventListener('pause', onPause);
      video.removeEventListener('error', onError);
      video.removeEventListener('play', onUserPlay);
      video.removeEventListener('pause', onUserPause);
      if (url) URL.revokeObjectURL(url);
    };
  }, [videoRef, stream, file, setRunning]);

  useEffect(() => {
    const video = videoRef.current;
    if (!video || !(stream || file)) return;
    if (running) {
      video.play().catch(() => {
        // interrupted by a newer source, or autoplay refused: the file's controls still start it
      });
    } else {
      video.pause();
    }
  }, [videoRef, running, stream, file]);

  return { imageSize, playing, error };
}
