import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../test/schema';
import { decodeFrames } from '../test/spk1';
import {
  MAX_ABS_COORDINATE,
  buildConfigureMessage,
  buildImageMessage,
  buildKeypointsMessage,
  encodeFrames,
  knownImageSize,
  sendableLandmarks,
  spk1Bytes,
  toServerError,
} from './payload';
import { CHANNELS, LANDMARK_COUNT, flattenLandmarks, type PoseFrame } from './pose';

function standingPose(): Float32Array {
  const data = new Float32Array(LANDMARK_COUNT * CHANNELS);
  for (let i = 0; i < LANDMARK_COUNT; i++)
    data.set([0.3 + i * 0.01, 0.1 + i * 0.02, -0.2 + i * 0.005, 0.9], i * CHANNELS);
  return data;
}

const frame = (landmarks: Float32Array | null): PoseFrame => ({
  landmarks,
  frameId: 120,
  timestampMs: 4000.123456,
  imageSize: { width: 1280, height: 720 },
});

describe('buildKeypointsMessage', () => {
  it('builds the canonical one-frame message of docs/api.md', () => {
    const landmarks = standingPose();
    const message = buildKeypointsMessage(frame(landmarks));
    expect(Object.keys(message).sort()).toEqual(['frame_id', 'image_size', 'landmarks', 'timestamp']);
    expect(message.frame_id).toBe(120);
    expect(message.timestamp).toBe(4000.123);
    expect(message.image_size).toEqual({ width: 1280, height: 720 });
    expect(message.landmarks).toHaveLength(33);
    expect(message.landmarks[32]).toEqual({
      x: landmarks[32 * 4],
      y: landmarks[32 * 4 + 1],
      z: landmarks[32 * 4 + 2],
      visibility: landmarks[32 * 4 + 3],
    });
  });

  it('sends an empty landmark list for a frame without detection', () => {
    expect(buildKeypointsMessage(frame(null)).landmarks).toEqual([]);
  });

  it('never sends NaN or infinity, which JSON turns into null and the server refuses', () => {
    const broken = standingPose();
    broken[5 * 4 + 1] = Number.POSITIVE_INFINITY;
    expect(buildKeypointsMessage(frame(broken)).landmarks).toEqual([]);

    const noVisibility = standingPose();
    noVisibility[7 * 4 + 3] = Number.NaN;
    const message = buildKeypointsMessage(frame(noVisibility));
    expect(message.landmarks).toHaveLength(33);
    expect(message.landmarks[7]).not.toHaveProperty('visibility');
    expect(JSON.stringify(message)).not.toContain('null');
  });

  it('refuses a landmark array of the wrong length', () => {
    expect(buildKeypointsMessage(frame(new Float32Array(17 * 4))).landmarks).toEqual([]);
  });
});

describe('encodeFrames (binary keypoints, SPK1)', () => {
  /** The frames of scripts/make_spk1_fixture.py, built the same way. */
  function fixtureFrames(): PoseFrame[] {
    const ids = [7, 8, 12];
    const stamps = [1000.5, 1033.25, 1066.125];
    return ids.map((frameId, f) => {
      const landmarks = new Float32Array(LANDMARK_COUNT * CHANNELS);
      for (let i = 0; i < LANDMARK_COUNT; i++)
        for (let c = 0; c < CHANNELS; c++)
          landmarks[i * CHANNELS + c] = c === 3 ? 0.9 - i * 0.01 + f * 0.02 : 0.25 + i * 0.01 + c * 0.001 + f * 0.1;
      if (f === 1) landmarks.fill(Number.NaN); // no detection
      if (f === 2) landmarks[5 * CHANNELS + 3] = Number.NaN; // no visibility
      return { landmarks, frameId, timestampMs: stamps[f], imageSize: { width: 640, height: 360 } };
    });
  }

  it("writes the bytes of the server's encode_frames (src/test/fixtures/spk1-3-frames.bin)", () => {
    const expected = readFileSync(resolve(import.meta.dirname, '../test/fixtures/spk1-3-frames.bin'));
    const bytes = new Uint8Array(encodeFrames(fixtureFrames()));
    expect(bytes.byteLength).toBe(spk1Bytes(3));
    expect(Array.from(bytes)).toEqual(Array.from(expected));
    // null landmarks are a frame without detection too: the same bytes
    const withNull = fixtureFrames();
    withNull[1] = { ...withNull[1], landmarks: null };
    expect(Array.from(new Uint8Array(encodeFrames(withNull)))).toEqual(Array.from(expected));
  });

  it('has the header <4sHBBII, then ids, timestamps and the landmarks frame-major', () => {
    const frames = fixtureFrames();
    const bytes = new Uint8Array(encodeFrames(frames.slice(2), { width: 0, height: 0 }));
    // "SPK1", 1 frame, 33 landmarks, 4 channels, image size unknown (0 x 0)
    expect(Array.from(bytes.subarray(0, 16))).toEqual([83, 80, 75, 49, 1, 0, 33, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(bytes.subarray(16, 24))).toEqual([12, 0, 0, 0, 0, 0, 0, 0]);
    const decoded = decodeFrames(bytes);
    expect(decoded).toMatchObject({ frameIds: [12], timestampsMs: [1066.125], imageSize: { width: 0, height: 0 } });
    expect(decoded.data).toEqual(frames[2].landmarks);
    expect(decodeFrames(encodeFrames(frames)).imageSize).toEqual({ width: 640, height: 360 });
  });

  it('sends a frame the server would refuse (and with it the whole message) as no detection', () => {
    const frames = fixtureFrames();
    const broken = Float32Array.from(frames[0].landmarks as Float32Array);
    broken[9] = Number.POSITIVE_INFINITY;
    const far = Float32Array.from(frames[2].landmarks as Float32Array);
    far[2] = 2 * MAX_ABS_COORDINATE;
    const decoded = decodeFrames(
      encodeFrames([
        { ...frames[0], landmarks: broken },
        { ...frames[2], landmarks: far },
      ]),
    );
    expect(decoded.data.every(Number.isNaN)).toBe(true);
    expect(() => encodeFrames([])).toThrow(RangeError);
  });
});

describe('sendableLandmarks', () => {
  it('is the one rule of JSON and binary frames', () => {
    const pose = standingPose();
    expect(sendableLandmarks(pose)).toBe(pose);
    const noVisibility = standingPose();
    noVisibility[3] = Number.NaN;
    expect(sendableLandmarks(noVisibility)).toBe(noVisibility);
    const noX = standingPose();
    noX[4] = Number.NaN;
    expect(sendableLandmarks(noX)).toBeNull();
    expect(buildKeypointsMessage(frame(noX)).landmarks).toEqual([]);
    expect(sendableLandmarks(null)).toBeNull();
    expect(sendableLandmarks(new Float32Array(17 * 4))).toBeNull();
  });
});

describe('flattenLandmarks', () => {
  it('takes the first pose of a PoseLandmarkerResult', () => {
    const pose = Array.from({ length: 33 }, (_, i) => ({ x: i / 33, y: 0.5, z: -0.1, visibility: 0.8 }));
    const flat = flattenLandmarks([pose, pose.map((p) => ({ ...p, x: 0 }))]);
    expect(flat).not.toBeNull();
    expect(flat?.length).toBe(132);
    expect(flat?.[10 * 4]).toBeCloseTo(10 / 33, 6);
    expect(flat?.[10 * 4 + 3]).toBeCloseTo(0.8, 6);
  });

  it('is null without a pose or with a pose of another skeleton', () => {
    expect(flattenLandmarks([])).toBeNull();
    expect(flattenLandmarks([Array.from({ length: 17 }, () => ({ x: 0, y: 0, z: 0 }))])).toBeNull();
  });
});

describe('buildConfigureMessage', () => {
  const defaults = { imageSize: null, overlap: null, modelId: null, includeFeatures: false };

  it('sends every setting the page controls, a default one as null; the image size once known', () => {
    expect(buildConfigureMessage(defaults)).toEqual({ overlap: null, model_id: null, include_features: false });
    expect(
      buildConfigureMessage({
        imageSize: { width: 640.4, height: 360 },
        overlap: 5,
        modelId: 'abc',
        includeFeatures: true,
      }),
    ).toEqual({ image_size: { width: 640, height: 360 }, overlap: 5, model_id: 'abc', include_features: true });
    expect(buildConfigureMessage({ ...defaults, imageSize: { width: 0, height: 0 }, overlap: -1 })).toEqual({
      overlap: null,
      model_id: null,
      include_features: false,
    });
  });
});

describe('knownImageSize', () => {
  it('is the size in whole pixels, or null for no size (0 x 0) or one the server refuses', () => {
    expect(knownImageSize({ width: 1767.6, height: 994 })).toEqual({ width: 1768, height: 994 });
    expect(knownImageSize({ width: 0, height: 0 })).toBeNull();
    expect(knownImageSize({ width: 640, height: 0 })).toBeNull();
    expect(knownImageSize({ width: 70_000, height: 10 })).toBeNull();
    expect(knownImageSize(null)).toBeNull();
  });
});

describe('buildImageMessage', () => {
  it('wraps the image bytes with the frame id and timestamp', () => {
    const image = new Uint8Array([0xff, 0xd8, 0xff]).buffer;
    expect(buildImageMessage(image, 7, 12.5)).toEqual({ image, frame_id: 7, timestamp: 12.5 });
  });
});

describe('every message built here is one the server accepts (schemas/socket-messages.schema.json)', () => {
  it('keypoints: a frame with a pose, without one, with unknown visibilities, with a broken value', () => {
    const noVisibility = standingPose();
    noVisibility[7 * 4 + 3] = Number.NaN;
    const broken = standingPose();
    broken[5 * 4 + 1] = Number.POSITIVE_INFINITY;
    for (const landmarks of [standingPose(), null, noVisibility, broken, new Float32Array(17 * 4)]) {
      expect(schemaErrors('KeypointsMessage', buildKeypointsMessage(frame(landmarks)))).toEqual([]);
    }
  });

  it('frame: the image bytes with the frame id and timestamp', () => {
    const image = new Uint8Array([0xff, 0xd8, 0xff]).buffer;
    expect(schemaErrors('FrameMessage', buildImageMessage(image, 7, 12.5), false)).toEqual([]);
  });

  it('configure: on connect, after a change of setting, and when asking for the server state', () => {
    for (const settings of [
      { imageSize: null, overlap: null, modelId: null, includeFeatures: false },
      { imageSize: { width: 640.4, height: 360 }, overlap: 5, modelId: 'abc', includeFeatures: true },
      { imageSize: { width: 0, height: 0 }, overlap: -1, modelId: null, includeFeatures: false },
    ]) {
      expect(schemaErrors('ConfigureMessage', buildConfigureMessage(settings))).toEqual([]);
    }
  });
});

describe('toServerError', () => {
  it('reads the code and message of an error event', () => {
    expect(toServerError({ code: 'no_model', message: 'upload one' })).toEqual({
      code: 'no_model',
      message: 'upload one',
    });
    expect(toServerError('boom')).toEqual({ code: 'unknown', message: 'boom' });
  });
});
