// Messages of several people: every pose of a frame as JSON (SPK1 holds one pose a frame), the
// `configure` keys num_poses and subject, and the poses the pose worker hands over.
import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../test/schema';
import { decodeFrames } from '../test/spk1';
import {
  buildConfigureMessage,
  buildKeypointsMessage,
  keypointsMessages,
  sendablePoses,
  type SentKeypointsBatch,
  type SentKeypointsMessage,
} from './payload';
import { CHANNELS, LANDMARK_COUNT, flattenPoses, splitPoses, type PoseFrame } from './pose';

const PER_POSE = LANDMARK_COUNT * CHANNELS;

/** A pose at horizontal offset `x` (visibility 0.9). */
function poseAt(x: number): Float32Array {
  const data = new Float32Array(PER_POSE);
  for (let i = 0; i < LANDMARK_COUNT; i++) data.set([x + i * 0.001, 0.1 + i * 0.02, -0.1, 0.9], i * CHANNELS);
  return data;
}

const size = { width: 640, height: 360 };
const single = (frameId: number): PoseFrame => ({
  landmarks: poseAt(0.2),
  frameId,
  timestampMs: frameId,
  imageSize: size,
});
const several = (frameId: number, poses: Float32Array[]): PoseFrame => ({
  landmarks: poses[0] ?? null,
  poses,
  frameId,
  timestampMs: frameId,
  imageSize: size,
});

describe('keypoints of several people', () => {
  it('sends every sendable pose of a frame, in the detector order, as lists of landmark objects', () => {
    const broken = poseAt(0.5);
    broken[3 * CHANNELS] = Number.NaN;
    const message = buildKeypointsMessage(several(7, [poseAt(0.6), broken, poseAt(0.1)]));
    const poses = message.landmarks as { x: number }[][];
    expect(poses.length).toBe(2); // the broken pose is left out, as sendablePoses leaves it out
    expect(poses.map((p) => p.length)).toEqual([33, 33]);
    expect(poses.map((p) => p[0].x)).toEqual([Math.fround(0.6), Math.fround(0.1)]);
    expect(sendablePoses([poseAt(0.6), broken, poseAt(0.1)]).map((p) => p[0])).toEqual(poses.map((p) => p[0].x));
    expect(message).toMatchObject({ frame_id: 7, timestamp: 7, image_size: size });
  });

  it('sends a frame in which nobody was found as an empty list', () => {
    expect(buildKeypointsMessage(several(3, [])).landmarks).toEqual([]);
  });

  it('sends binary SPK1 for one person, a JSON batch for frames of several people', () => {
    const [spk1] = keypointsMessages([single(1), single(2)], true);
    expect(spk1).toBeInstanceOf(ArrayBuffer);
    expect(decodeFrames(spk1 as ArrayBuffer).frameIds).toEqual([1, 2]);

    const [batch, ...rest] = keypointsMessages([several(1, [poseAt(0.1), poseAt(0.5)]), several(2, [])], true);
    expect(rest).toEqual([]);
    const frames = (batch as SentKeypointsBatch).frames;
    expect(frames.map((f) => [f.frame_id, f.landmarks.length])).toEqual([
      [1, 2],
      [2, 0],
    ]);
    // one frame alone goes as a frame message; frames held before People changed go as JSON with them
    expect((keypointsMessages([several(4, [poseAt(0.3)])], true)[0] as SentKeypointsMessage).frame_id).toBe(4);
    const mixed = keypointsMessages([single(5), several(6, [poseAt(0.3)])], true);
    expect((mixed[0] as SentKeypointsBatch).frames.map((f) => f.landmarks.length)).toEqual([33, 1]);
  });

  it('sends one JSON message per frame when the page is set to JSON, one person or several', () => {
    const messages = keypointsMessages([single(1), several(2, [poseAt(0.1), poseAt(0.5)])], false);
    expect(messages.map((m) => (m as SentKeypointsMessage).frame_id)).toEqual([1, 2]);
    expect(messages.map((m) => (m as SentKeypointsMessage).landmarks.length)).toEqual([33, 2]);
  });

  it('every such message is one the schema takes', () => {
    for (const message of [
      buildKeypointsMessage(several(1, [poseAt(0.1), poseAt(0.5)])),
      buildKeypointsMessage(several(2, [])),
      keypointsMessages([several(1, [poseAt(0.1)]), several(2, [poseAt(0.2), poseAt(0.7)])], true)[0],
    ])
      expect(schemaErrors('KeypointsMessage', message)).toEqual([]);
  });
});

describe('configure of several people', () => {
  const defaults = { imageSize: null, overlap: null, modelId: null, includeFeatures: false };

  it('sends num_poses and the subject (null: auto) with the other settings, and neither without numPoses', () => {
    expect(buildConfigureMessage({ ...defaults, numPoses: 2, subject: 3 })).toEqual({
      overlap: null,
      model_id: null,
      include_features: false,
      num_poses: 2,
      subject: 3,
    });
    expect(buildConfigureMessage({ ...defaults, numPoses: 1 })).toMatchObject({ num_poses: 1, subject: null });
    expect(buildConfigureMessage(defaults)).not.toHaveProperty('num_poses');
    expect(buildConfigureMessage(defaults)).not.toHaveProperty('subject');
    for (const settings of [
      { ...defaults, numPoses: 2, subject: 3 },
      { ...defaults, numPoses: 4, subject: null },
    ])
      expect(schemaErrors('ConfigureMessage', buildConfigureMessage(settings))).toEqual([]);
  });
});

describe('the poses of the pose worker', () => {
  const landmark = (x: number) => ({ x, y: 0.5, z: 0, visibility: 0.8 });
  const result = (...xs: number[]) => xs.map((x) => Array.from({ length: LANDMARK_COUNT }, () => landmark(x)));

  it('flattens up to numPoses poses of a PoseLandmarkerResult, and splits them again', () => {
    const flat = flattenPoses(result(0.1, 0.4, 0.7), 2);
    expect(flat.length).toBe(2 * PER_POSE);
    const poses = splitPoses(flat);
    expect(poses.map((p) => p[0])).toEqual([Math.fround(0.1), Math.fround(0.4)]);
    expect(poses[1][3]).toBeCloseTo(0.8, 6);
  });

  it('is empty without a pose, and leaves out a pose of another skeleton', () => {
    expect(flattenPoses([], 4).length).toBe(0);
    expect(splitPoses(new Float32Array(0))).toEqual([]);
    const other = [Array.from({ length: 17 }, () => landmark(0.9))];
    expect(splitPoses(flattenPoses([...other, ...result(0.3)], 4)).map((p) => p[0])).toEqual([Math.fround(0.3)]);
  });
});
