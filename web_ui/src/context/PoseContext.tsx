// Pose in the browser and what each video frame becomes: in `keypoints` mode the pose model's
// landmarks are drawn over the video and sent; in `images` mode JPEG frames are sent instead.
// PoseSettingsForm, PoseOverlay and the statistics read it.
import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { DEFAULT_POSE_SETTINGS, STORAGE_KEYS, type PoseSettings } from '../config';
import { useImageFrames } from '../hooks/useImageFrames';
import { usePose, type Pose } from '../hooks/usePose';
import { useSkeletonCanvas } from '../hooks/useSkeletonCanvas';
import { useStoredSettings } from '../hooks/useStoredSettings';
import type { PoseFrame } from '../lib/pose';
import { useLive } from './LiveContext';
import { required } from './required';
import { useSource } from './SourceContext';

export interface PoseView {
  /** Model, delegate, smoothing, frame-rate cap (saved in localStorage). */
  settings: PoseSettings;
  setSettings: (patch: Partial<PoseSettings>) => void;
  pose: Pose;
}

export const PoseContext = createContext<PoseView | null>(null);

export function usePoseView(): PoseView {
  return required(useContext(PoseContext), 'usePoseView', 'PoseProvider');
}

/** Inside SourceProvider and LiveProvider: frames come from the one, go to the other. */
export function PoseProvider({ children }: { children: ReactNode }) {
  const [settings, setSettings] = useStoredSettings(STORAGE_KEYS.pose, DEFAULT_POSE_SETTINGS);
  const { videoRef, canvasRef, imageSize, playing, settings: source } = useSource();
  const { sendKeypoints, sendImage } = useLive();
  const draw = useSkeletonCanvas(canvasRef);
  const { sendMode } = source;

  const onPose = useCallback(
    (frame: PoseFrame) => {
      draw(frame.landmarks, frame.imageSize);
      sendKeypoints(frame);
    },
    [draw, sendKeypoints],
  );
  const pose = usePose(videoRef, settings, sendMode === 'keypoints', onPose);
  useImageFrames(
    videoRef,
    sendMode === 'images' && playing,
    { maxFps: source.imageMaxFps, maxWidth: source.imageMaxWidth, quality: source.jpegQuality },
    sendImage,
  );
  useEffect(() => {
    if (sendMode === 'images') draw(null, imageSize ?? { width: 1, height: 1 }); // no skeleton to show
  }, [sendMode, draw, imageSize]);

  const value = useMemo(() => ({ settings, setSettings, pose }), [settings, setSettings, pose]);
  return <PoseContext value={value}>{children}</PoseContext>;
}
