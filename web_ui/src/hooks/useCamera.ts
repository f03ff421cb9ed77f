// The webcam: the list of cameras and the stream of the chosen one.
import { useCallback, useEffect, useState } from 'react';
import { CAMERA_CONSTRAINTS } from '../config';

export interface CameraDevice {
  deviceId: string;
  label: string;
}

export interface Camera {
  stream: MediaStream | null;
  devices: CameraDevice[];
  error: string | null;
  refreshDevices: () => void;
}

function describeCameraError(exc: unknown): string {
  const name = (exc as DOMException)?.name;
  if (name === 'NotAllowedError')
    return 'Camera permission was denied: allow the camera for this page, or choose a video file.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return 'No camera was found: connect one, or choose a video file.';
  if (name === 'NotReadableError') return 'The camera is in use by another program.';
  if (typeof navigator !== 'undefined' && !navigator.mediaDevices) {
    return 'This page cannot use cameras: open it over https:// or on localhost.';
  }
  return `The camera could not be opened: ${(exc as Error)?.message ?? String(exc)}`;
}

/** Opens camera `deviceId` ('' = the default) while `enabled`; stops it otherwise. */
export function useCamera(enabled: boolean, deviceId: string): Camera {
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [devices, setDevices] = useState<CameraDevice[]>([]);
  const [error, setError] = useState<string | null>(null);

  const refreshDevices = useCallback(() => {
    navigator.mediaDevices
      ?.enumerateDevices()
      .then((all) =>
        setDevices(
          all
            .filter((d) => d.kind === 'videoinput')
            .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` })),
        ),
      )
      .catch(() => setDevices([]));
  }, []);

  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    let opened: MediaStream | null = null;
    setError(null);
    const video = deviceId ? { ...CAMERA_CONSTRAINTS, deviceId: { exact: deviceId } } : CAMERA_CONSTRAINTS;
    if (!navigator.mediaDevices?.getUserMedia) {
      setError(describeCameraError(new Error('no mediaDevices')));
      return;
    }
    navigator.mediaDevices
      .getUserMedia({ video, audio: false })
      .then((media) => {
        if (cancelled) {
          media.getTracks().forEach((track) => track.stop());
          return;
        }
        opened = media;
        setStream(media);
        refreshDevices(); // labels are readable once permission is given
      })
      .catch((exc) => !cancelled && setError(describeCameraError(exc)));
    return () => {
      cancelled = true;
      opened?.getTracks().forEach((track) => track.stop());
      setStream(null);
    };
  }, [enabled, deviceId, refreshDevices]);

  useEffect(() => {
    refreshDevices();
    navigator.mediaDevices?.addEventListener?.('devicechange', refreshDevices);
    return () => navigator.mediaDevices?.removeEventListener?.('devicechange', refreshDevices);
  }, [refreshDevices]);

  return { stream, devices, error, refreshDevices };
}
