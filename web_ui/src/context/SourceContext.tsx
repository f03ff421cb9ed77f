// The video source: a webcam or a local file shown in the <video>, whether it runs (nothing is
// captured or sent, and the camera is not asked for, until Start), what is sent to the server
// (keypoints or images), and the overlay canvas. SourcePicker, PoseOverlay and the pose read it.
import { createContext, useContext, useMemo, useRef, useState, type ReactNode, type RefObject } from 'react';
import { DEFAULT_SOURCE_SETTINGS, STORAGE_KEYS, type SourceSettings } from '../config';
import { useCamera, type CameraDevice } from '../hooks/useCamera';
import { useStoredSettings } from '../hooks/useStoredSettings';
import { useVideoElement } from '../hooks/useVideoElement';
import type { ImageSize } from '../lib/pose';
import { required } from './required';

export type SourceKind = 'camera' | 'file';

export interface Source {
  /** Start was pressed and Pause was not: the camera is on, or the file plays. */
  running: boolean;
  start: () => void;
  pause: () => void;
  kind: SourceKind;
  setKind: (kind: SourceKind) => void;
  devices: CameraDevice[];
  /** The chosen camera; '' is the default one. */
  deviceId: string;
  setDeviceId: (deviceId: string) => void;
  file: File | null;
  setFile: (file: File | null) => void;
  /** What is sent and how (saved in localStorage). */
  settings: SourceSettings;
  setSettings: (patch: Partial<SourceSettings>) => void;
  /** Why the camera or the file shows nothing, if it does not. */
  error: string | null;
  videoRef: RefObject<HTMLVideoElement | null>;
  canvasRef: RefObject<HTMLCanvasElement | null>;
  /** The video's size in pixels, once known; null while there is no input (not started, no file
   * chosen, the camera stopped). */
  imageSize: ImageSize | null;
  playing: boolean;
}

export const SourceContext = createContext<Source | null>(null);

/** Why there is no video to classify (what the label area says then), or null if there is one. */
export function noInputReason({ running, kind, file, imageSize }: Source): string | null {
  if (kind === 'file' && !file) return 'choose a video file';
  if (!running) return kind === 'camera' ? 'press Start to turn on the camera' : 'press Start to play the video';
  if (imageSize === null) return 'waiting for the video…';
  return null;
}

export function useSource(): Source {
  return required(useContext(SourceContext), 'useSource', 'SourceProvider');
}

export function SourceProvider({ children }: { children: ReactNode }) {
  const [running, setRunning] = useState(false);
  const [kind, setKind] = useState<SourceKind>('camera');
  const [deviceId, setDeviceId] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [settings, setSettings] = useStoredSettings(STORAGE_KEYS.source, DEFAULT_SOURCE_SETTINGS);
  const videoRef = useRef<HTMLVideoElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const camera = useCamera(kind === 'camera' && running, deviceId);
  const video = useVideoElement(
    videoRef,
    kind === 'camera' ? { kind: 'camera', stream: camera.stream } : { kind: 'file', file },
    running,
    setRunning,
  );
  const error = kind === 'camera' ? camera.error : video.error;
  const value = useMemo<Source>(
    () => ({
      running,
      start: () => setRunning(true),
      pause: () => setRunning(false),
      kind,
      setKind,
      devices: camera.devices,
      deviceId,
      setDeviceId,
      file,
      setFile,
      settings,
      setSettings,
      error,
      videoRef,
      canvasRef,
      imageSize: video.imageSize,
      playing: video.playing,
    }),
    [running, kind, camera.devices, deviceId, file, settings, setSettings, error, video.imageSize, video.playing],
  );
  return <SourceContext value={value}>{children}</SourceContext>;
}
