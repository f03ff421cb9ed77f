// The pose data passed around the UI: BlazePose-33 landmarks as one flat Float32Array.

/** Landmarks per pose (BlazePose). */
export const LANDMARK_COUNT = 33;
/** Channels per landmark: x, y (normalized to the image), z (relative depth), visibility. */
export const CHANNELS = 4;

/** `(33 * 4,)` float32, landmark-major: x, y, z, visibility of landmark 0, then 1, ... */
export type Landmarks = Float32Array;

export interface ImageSize {
  width: number;
  height: number;
}

/** One processed video frame: nobody was detected when `landmarks` is all NaN (as the pose
 * worker gives it) or null (as the smoother gives it). */
export interface PoseFrame {
  landmarks: Landmarks | null;
  /** With People > 1: every pose detected, in the detector's order (none: nobody), unsmoothed;
   * `landmarks` is the first. Absent: one person. */
  poses?: readonly Landmarks[];
  frameId: number;
  /** Client clock, ms (performance.now() at capture), strictly increasing. */
  timestampMs: number;
  imageSize: ImageSize;
}

interface LandmarkLike {
  x: number;
  y: number;
  z: number;
  visibility?: number;
}

/** The first pose of MediaPipe's `result.landmarks` as flat landmarks (null if none). */
export function flattenLandmarks(poses: readonly (readonly LandmarkLike[])[]): Landmarks | null {
  const first = poses[0];
  if (!first || first.length !== LANDMARK_COUNT) return null;
  const out = new Float32Array(LANDMARK_COUNT * CHANNELS);
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    const point = first[i];
    out[i * CHANNELS] = point.x;
    out[i * CHANNELS + 1] = point.y;
    out[i * CHANNELS + 2] = point.z;
    out[i * CHANNELS + 3] = point.visibility ?? Number.NaN;
  }
  return out;
}

/** Up to `max` poses of MediaPipe's `result.landmarks` as one flat `(n * 33 * 4,)` array, in its
 * order (a pose of another skeleton is left out); empty when there is none. */
export function flattenPoses(poses: readonly (readonly LandmarkLike[])[], max: number): Float32Array {
  const kept = poses.filter((pose) => pose.length === LANDMARK_COUNT).slice(0, Math.max(0, max));
  const perPose = LANDMARK_COUNT * CHANNELS;
  const out = new Float32Array(kept.length * perPose);
  kept.forEach((pose, p) => out.set(flattenLandmarks([pose]) as Landmarks, p * perPose));
  return out;
}

/** The poses of a flat `(n * 33 * 4,)` array (views into it, no copy). */
export function splitPoses(flat: Float32Array): Landmarks[] {
  const perPose = LANDMARK_COUNT * CHANNELS;
  const poses: Landmarks[] = [];
  for (let at = 0; at + perPose <= flat.length; at += perPose) poses.push(flat.subarray(at, at + perPose));
  return poses;
}

/** The landmarks of a frame in which nobody was detected: all NaN, as offline and in binary
 * messages. */
export function noDetection(): Landmarks {
  return new Float32Array(LANDMARK_COUNT * CHANNELS).fill(Number.NaN);
}

/** BlazePose skeleton edges (landmark index pairs), as data. Same as MediaPipe's
 * POSE_CONNECTIONS without the face outline. */
// prettier-ignore
export const SKELETON_EDGES: readonly (readonly [number, number])[] = [
  [0, 1], [1, 2], [2, 3], [3, 7], [0, 4], [4, 5], [5, 6], [6, 8], [9, 10],
  [11, 12], [11, 13], [13, 15], [15, 17], [15, 19], [15, 21], [17, 19],
  [12, 14], [14, 16], [16, 18], [16, 20], [16, 22], [18, 20],
  [11, 23], [12, 24], [23, 24], [23, 25], [24, 26], [25, 27], [26, 28],
  [27, 29], [28, 30], [29, 31], [30, 32], [27, 31], [28, 32],
];
