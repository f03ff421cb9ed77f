// For tests: what a binary `keypoints` message (SPK1, docs/api.md "Binary frames") holds, read
// as stream_pose_ml.serving.payload.decode_frames reads it.
import { SPK1_HEADER_BYTES, SPK1_MAGIC } from '../lib/payload';
import { CHANNELS, LANDMARK_COUNT } from '../lib/pose';

export interface DecodedFrames {
  frameIds: number[];
  timestampsMs: number[];
  imageSize: { width: number; height: number };
  /** `(n * 33 * 4,)` frame-major. */
  data: Float32Array;
}

export function decodeFrames(message: ArrayBuffer | Uint8Array): DecodedFrames {
  const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== SPK1_MAGIC) throw new Error(`not SPK1: ${magic}`);
  const n = view.getUint16(4, true);
  if (view.getUint8(6) !== LANDMARK_COUNT || view.getUint8(7) !== CHANNELS) throw new Error('not 33 x 4');
  const perFrame = LANDMARK_COUNT * CHANNELS;
  if (bytes.byteLength !== SPK1_HEADER_BYTES + n * (16 + perFrame * 4)) throw new Error('length');
  const frameIds = Array.from({ length: n }, (_, i) => Number(view.getBigInt64(SPK1_HEADER_BYTES + 8 * i, true)));
  const timestampsMs = Array.from({ length: n }, (_, i) => view.getFloat64(SPK1_HEADER_BYTES + 8 * (n + i), true));
  const dataAt = SPK1_HEADER_BYTES + 16 * n;
  const data = Float32Array.from({ length: n * perFrame }, (_, j) => view.getFloat32(dataAt + 4 * j, true));
  return {
    frameIds,
    timestampsMs,
    imageSize: { width: view.getUint32(8, true), height: view.getUint32(12, true) },
    data,
  };
}
