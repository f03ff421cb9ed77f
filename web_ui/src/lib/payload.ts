// The Socket.IO messages this page builds (client -> server) and reads (server -> client). Their
// types come from the schema shared with the server (messages.gen.ts, `npm run schema:types`).
import type {
  ClientToServer,
  ConfigureMessage,
  Configured,
  FrameMessage,
  FrameResult,
  Heartbeat,
  KeypointsFrame,
  Landmark,
  ServerError,
  ServerToClient,
  ServerWarning,
  SessionStatus,
} from './messages.gen';
import type { AnalyzerName } from './analysis';
import { CHANNELS, LANDMARK_COUNT, type ImageSize, type Landmarks, type PoseFrame } from './pose';

export type { ConfigureMessage, Configured, FrameResult, Heartbeat, ServerError, ServerWarning, SessionStatus };

/** socket.io-client's listen events: the server's events and their payloads. */
export type ServerEvents = { [E in keyof ServerToClient]-?: (body: NonNullable<ServerToClient[E]>) => void };
/** socket.io-client's emit events: what a client sends (`heartbeat` has no payload; binary
 * `keypoints`, which the schema cannot describe, are an ArrayBuffer). */
export type ClientEvents = {
  [E in Exclude<keyof ClientToServer, 'heartbeat' | 'keypoints'>]-?: (message: NonNullable<ClientToServer[E]>) => void;
} & {
  keypoints: (message: NonNullable<ClientToServer['keypoints']> | ArrayBuffer) => void;
  heartbeat: () => void;
};

/** `keypoints` as this page sends it: one frame, 33 landmark objects or none (nobody detected);
 * with People > 1 a list of poses of 33 landmark objects each (empty: nobody). */
export type SentKeypointsMessage = KeypointsFrame & {
  landmarks: Landmark[] | Landmark[][];
  frame_id: number;
  timestamp: number;
  image_size: ImageSize;
};

/** `frame` as this page sends it: a JPEG for clients that do not run pose themselves. */
export type SentImageMessage = FrameMessage & { image: ArrayBuffer; frame_id: number; timestamp: number };

/** Largest coordinate magnitude the server takes (beyond it: `out_of_range`, docs/api.md). */
export const MAX_ABS_COORDINATE = 1e4;

/** The landmarks as the server will take them, or null: a frame with a non-finite x, y or z, a
 * value beyond MAX_ABS_COORDINATE (which the server refuses, with the whole message) or the wrong
 * length is sent as a frame without detection. A NaN visibility is kept (unknown). The one rule
 * of both formats, so JSON and binary messages give the server the same frames. */
export function sendableLandmarks(landmarks: Landmarks | null): Landmarks | null {
  if (!landmarks || landmarks.length !== LANDMARK_COUNT * CHANNELS) return null;
  for (let i = 0; i < landmarks.length; i++) {
    const value = landmarks[i];
    if (i % CHANNELS === CHANNELS - 1 && Number.isNaN(value)) continue;
    if (!(Math.abs(value) <= MAX_ABS_COORDINATE)) return null; // also NaN and infinity
  }
  return landmarks;
}

/** The poses of a frame of several people as they are sent (and as the `people` answer counts
 * them): the sendable ones (see sendableLandmarks), in the detector's order. */
export function sendablePoses(poses: readonly Landmarks[]): Landmarks[] {
  return poses.map(sendableLandmarks).filter((pose): pose is Landmarks => pose !== null);
}

function landmarkObjects(landmarks: Landmarks): Landmark[] {
  const points: Landmark[] = [];
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    const o = i * CHANNELS;
    const point: Landmark = { x: landmarks[o], y: landmarks[o + 1], z: landmarks[o + 2] };
    if (Number.isFinite(landmarks[o + 3])) point.visibility = landmarks[o + 3];
    points.push(point);
  }
  return points;
}

/** The `keypoints` message of one frame: 33 landmark objects, or none when nobody was detected
 * (see sendableLandmarks); a NaN visibility is left out (the server then takes NaN; JSON has no
 * NaN). A frame of several people (`poses`) gives the list of its sendable poses. */
export function buildKeypointsMessage(frame: PoseFrame): SentKeypointsMessage {
  let points: Landmark[] | Landmark[][];
  if (frame.poses) points = sendablePoses(frame.poses).map(landmarkObjects);
  else {
    const landmarks = sendableLandmarks(frame.landmarks);
    points = landmarks ? landmarkObjects(landmarks) : [];
  }
  return {
    landmarks: points,
    frame_id: frame.frameId,
    timestamp: roundMs(frame.timestampMs),
    image_size: { width: Math.round(frame.imageSize.width), height: Math.round(frame.imageSize.height) },
  };
}

/** Several frames in one JSON `keypoints` message, oldest first. */
export interface SentKeypointsBatch {
  frames: SentKeypointsMessage[];
}

/** The `keypoints` messages of `frames` (oldest first), as one message of binary SPK1 or JSON
 * frames, or as one JSON message per frame: `binary` is the page's setting (SPK1 batches); SPK1
 * holds one pose a frame, so frames of several people go as one JSON batch instead. */
export function keypointsMessages(
  frames: readonly PoseFrame[],
  binary: boolean,
): (ArrayBuffer | SentKeypointsMessage | SentKeypointsBatch)[] {
  if (!binary) return frames.map(buildKeypointsMessage);
  if (!frames.some((frame) => frame.poses)) return [encodeFrames(frames)];
  if (frames.length === 1) return [buildKeypointsMessage(frames[0])];
  return [{ frames: frames.map(buildKeypointsMessage) }];
}

// -- binary keypoints (SPK1) -----------------------------------------------------------------

/** Binary `keypoints` (docs/api.md, "Binary frames"; stream_pose_ml.serving.payload's
 * `BINARY_HEADER` `<4sHBBII`), little-endian: magic, frames (uint16), landmarks (uint8),
 * channels (uint8), image width and height (uint32, 0 = unknown); then frame ids (int64 x n),
 * timestamps in ms (float64 x n) and the landmarks (float32 x n x 33 x 4, frame-major). */
export const SPK1_MAGIC = 'SPK1';
export const SPK1_HEADER_BYTES = 16;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes of a binary message of `n` frames. */
export function spk1Bytes(n: number): number {
  return SPK1_HEADER_BYTES + n * (16 + LANDMARK_COUNT * CHANNELS * 4);
}

/** One binary `keypoints` message of `frames` (oldest first), as `encode_frames` writes it; the
 * image size is the newest frame's. A frame without detection (see sendableLandmarks) is all
 * NaN. The landmarks are copied straight from each frame's Float32Array. */
export function encodeFrames(frames: readonly PoseFrame[], imageSize?: ImageSize): ArrayBuffer {
  const n = frames.length;
  if (n < 1 || n > 0xffff) throw new RangeError(`a binary message holds 1..65535 frames, not ${n}`);
  const size = imageSize ?? frames[n - 1].imageSize;
  const buffer = new ArrayBuffer(spk1Bytes(n));
  const view = new DataView(buffer);
  for (let i = 0; i < 4; i++) view.setUint8(i, SPK1_MAGIC.charCodeAt(i));
  view.setUint16(4, n, true);
  view.setUint8(6, LANDMARK_COUNT);
  view.setUint8(7, CHANNELS);
  view.setUint32(8, imageSide(size.width), true);
  view.setUint32(12, imageSide(size.height), true);
  const stampsAt = SPK1_HEADER_BYTES + 8 * n;
  const dataAt = SPK1_HEADER_BYTES + 16 * n;
  const perFrame = LANDMARK_COUNT * CHANNELS;
  const data = LITTLE_ENDIAN ? new Float32Array(buffer, dataAt, n * perFrame) : null;
  frames.forEach((frame, i) => {
    view.setBigInt64(SPK1_HEADER_BYTES + 8 * i, BigInt(frame.frameId), true);
    view.setFloat64(stampsAt + 8 * i, frame.timestampMs, true);
    const landmarks = sendableLandmarks(frame.landmarks);
    if (data) {
      if (landmarks) data.set(landmarks, i * perFrame);
      else data.fill(Number.NaN, i * perFrame, (i + 1) * perFrame);
    } else {
      for (let j = 0; j < perFrame; j++)
        view.setFloat32(dataAt + 4 * (i * perFrame + j), landmarks ? landmarks[j] : Number.NaN, true);
    }
  });
  return buffer;
}

function imageSide(side: number): number {
  return Number.isFinite(side) && side > 0 ? Math.min(0xffffffff, Math.round(side)) : 0;
}

// -- images and settings -----------------------------------------------------------------------

export function buildImageMessage(image: ArrayBuffer, frameId: number, timestampMs: number): SentImageMessage {
  return { image, frame_id: frameId, timestamp: roundMs(timestampMs) };
}

export interface SessionSettings {
  imageSize: ImageSize | null;
  /** Frames shared by consecutive windows; null: the model's default. */
  overlap: number | null;
  /** A stored model for this session only; null: follow the server's active model. */
  modelId: string | null;
  /** Each `frame_result` also carries its feature row. */
  includeFeatures: boolean;
  /** The session's movement analyzer (it needs no model); null or absent: none. */
  analyzer?: AnalyzerName | null;
  /** People tracked (`num_poses`); absent: the key is not sent. */
  numPoses?: number;
  /** The track id classified (`subject`, sent with numPoses); null: the largest person. */
  subject?: number | null;
}

/** The image size as the server takes it (integers 1..65535), or null while it is not known. */
export function knownImageSize(size: ImageSize | null | undefined): ImageSize | null {
  if (!size || !(size.width >= 1 && size.height >= 1)) return null;
  const width = Math.round(size.width);
  const height = Math.round(size.height);
  return width <= 0xffff && height <= 0xffff ? { width, height } : null;
}

/** The full `configure` of this session: every setting the page controls, a default one as null
 * (the model's overlap, the active model), so that it can be sent again as it is on every
 * connect (a session on a restarted server starts from the defaults). The image size only once
 * the video has one. */
export function buildConfigureMessage(settings: SessionSettings): ConfigureMessage {
  const { overlap } = settings;
  const message: ConfigureMessage = {
    overlap: overlap !== null && Number.isInteger(overlap) && overlap >= 0 ? overlap : null,
    model_id: settings.modelId,
    include_features: settings.includeFeatures,
  };
  if (settings.analyzer !== undefined) message.analyzer = settings.analyzer;
  if (settings.numPoses !== undefined) {
    message.num_poses = settings.numPoses;
    message.subject = settings.subject ?? null;
  }
  const size = knownImageSize(settings.imageSize);
  if (size) message.image_size = size;
  return message;
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

// -- server -> client ------------------------------------------------------------------------

/** A server `error` body, whatever arrived. */
export function toServerError(body: unknown): ServerError {
  if (body && typeof body === 'object') {
    const { code, message } = body as Record<string, unknown>;
    return {
      code: typeof code === 'string' ? code : 'unknown',
      message: typeof message === 'string' ? message : JSON.stringify(body),
    };
  }
  return { code: 'unknown', message: String(body) };
}
