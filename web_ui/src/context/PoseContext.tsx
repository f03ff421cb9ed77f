// Pose in the browser and what each video frame becomes: in `keypoints` mode the pose model's
// landmarks are drawn over the video and sent (held until the next due window, see
// lib/sessionBatcher.ts; what is held leaves when the video pauses or stops, or the mode changes);
// in `images` mode JPEG frames are sent instead. With People > 1 every pose is sent and kept until
// the server's `people` answer names it, then drawn in its track's colour (lib/people.ts); a
// frame that cannot be sent is drawn grey at once.
// PoseSettingsForm, PoseOverlay and the statistics read it.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { DEFAULT_POSE_SETTINGS, STORAGE_KEYS, type PoseSettings } from '../config';
import { useImageFrames } from '../hooks/useImageFrames';
import { usePose, type Pose } from '../hooks/usePose';
import { useSkeletonCanvas } from '../hooks/useSkeletonCanvas';
import { useStoredSettings } from '../hooks/useStoredSettings';
import { sendablePoses } from '../lib/payload';
import {
  NOBODY_IN_VIEW,
  PeopleBuffer,
  peopleInView,
  sameView,
  untrackedPeople,
  type PeopleInView,
  type PeopleMessage,
} from '../lib/people';
import type { PoseFrame } from '../lib/pose';
import { useLive } from './LiveContext';
import { required } from './required';
import { useSource } from './SourceContext';

export interface PoseView {
  /** Model, delegate, smoothing, frame-rate cap (saved in localStorage). */
  settings: PoseSettings;
  setSettings: (patch: Partial<PoseSettings>) => void;
  pose: Pose;
  /** Several people: who the newest `people` answer names. */
  people: PeopleInView;
}

export const PoseContext = createContext<PoseView | null>(null);

export function usePoseView(): PoseView {
  return required(useContext(PoseContext), 'usePoseView', 'PoseProvider');
}

/** Inside SourceProvider and LiveProvider: frames come from the one, go to the other. */
export function PoseProvider({ children }: { children: ReactNode }) {
  const [settings, setSettings] = useStoredSettings(STORAGE_KEYS.pose, DEFAULT_POSE_SETTINGS);
  const { videoRef, canvasRef, imageSize, playing, running, settings: source } = useSource();
  const { sendKeypoints, flushKeypoints, sendImage, numPoses, setPeopleListener } = useLive();
  const { draw, drawPeople } = useSkeletonCanvas(canvasRef);
  const sent = useRef(new PeopleBuffer());
  const [people, setPeople] = useState<PeopleInView>(NOBODY_IN_VIEW);
  const { sendMode } = source;
  // an answer of the pose worker for a frame of a source that is gone is neither drawn nor sent
  const hasInput = running && imageSize !== null;
  const hasInputRef = useRef(hasInput);
  hasInputRef.current = hasInput;

  const onPose = useCallback(
    (frame: PoseFrame) => {
      if (!hasInputRef.current) return;
      if (!frame.poses) {
        draw(frame.landmarks, frame.imageSize);
        sendKeypoints(frame);
        return;
      }
      const poses = sendablePoses(frame.poses); // as the message holds them: the answer's order
      if (sendKeypoints(frame)) sent.current.add({ frameId: frame.frameId, poses, imageSize: frame.imageSize });
      else drawPeople(untrackedPeople(poses), frame.imageSize);
    },
    [draw, drawPeople, sendKeypoints],
  );
  const pose = usePose(videoRef, settings, numPoses, sendMode === 'keypoints', onPose);
  // each answer names the people of its newest frame: drawn (if this page sent its poses) and listed
  useEffect(() => {
    setPeopleListener((message: PeopleMessage) => {
      const newest = message.frames.at(-1);
      if (!hasInputRef.current || !newest) return;
      const frame = sent.current.answer(message);
      if (frame) drawPeople(frame.people, frame.imageSize);
      const view = peopleInView(newest);
      setPeople((old) => (sameView(old, view) ? old : view));
    });
    return () => setPeopleListener(null);
  }, [setPeopleListener, drawPeople]);
  // another People setting: the server's tracker starts again
  useEffect(() => {
    sent.current.clear();
    setPeople(NOBODY_IN_VIEW);
  }, [numPoses]);
  useImageFrames(
    videoRef,
    sendMode === 'images' && playing && running,
    { maxFps: source.imageMaxFps, maxWidth: source.imageMaxWidth, quality: source.jpegQuality },
    sendImage,
  );
  // no skeleton to show: the server runs pose, or there is no video (the last one's would stay)
  useEffect(() => {
    if (sendMode === 'images' || imageSize === null) draw(null, imageSize ?? { width: 1, height: 1 });
    if (imageSize === null) setPeople(NOBODY_IN_VIEW);
  }, [sendMode, draw, imageSize]);
  // no more frames for now: the ones held leave at once, so the server's window holds what one
  // message per frame would have given it, and nothing old is sent later
  useEffect(() => {
    if (!playing || sendMode !== 'keypoints') flushKeypoints();
  }, [playing, sendMode, flushKeypoints]);

  const value = useMemo(() => ({ settings, setSettings, pose, people }), [settings, setSettings, pose, people]);
  return <PoseContext value={value}>{children}</PoseContext>;
}
