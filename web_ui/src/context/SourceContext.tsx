// The video source: a webcam or a local file shown in the <video>, what is sent to the server
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
  /** The video's size in pixels, once known. */
  imageSize: ImageSize | null;
  playing: boolean;
}

export const SourceContext = createContext<Source | null>(null);

export function useSource(): Source {
  return required(useContext(SourceContext), 'useSource', 'SourceProvider');
}

export function SourceProvider({ children }: { children: ReactNode }) {
  const [kind, setKind] = useState<SourceKind>('camera');
  const [deviceId, setDeviceId] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [settings, setSettings] = useStoredSettings(STORAGE_KEYS.source, DEFAULT_SOURCE_SETTINGS);
  const videoRef = useRef<HTMLVideoElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const camera = useCamera(kind === 'camera', deviceId);
  const video = useVideoElement(
    videoRef,
    kind === 'camera' ? { kind: 'camera', stream: camera.stream } : { kind: 'file', file },
  );
  const error = kind === 'camera' ? camera.error : video.error;
  const value = useMemo<Source>(
    () => ({
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
    [kind, camera.devices, deviceId, file, settings, setSettings, error, video.imageSize, video.playing],
  );
  return <SourceContext value={value}>{children}</SourceContext>;
}
