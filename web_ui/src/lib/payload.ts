// Socket.IO messages exactly as docs/api.md defines them (client -> server), and the shapes of
// the server's answers.
import { CHANNELS, LANDMARK_COUNT, type ImageSize, type PoseFrame } from './pose';

export interface LandmarkPoint {
  x: number;
  y: number;
  z: number;
  /** Omitted when unknown (the server then takes NaN); JSON has no NaN. */
  visibility?: number;
}

/** `keypoints`: one frame; `landmarks: []` is a frame in which nobody was detected. */
export interface KeypointsMessage {
  landmarks: LandmarkPoint[];
  frame_id: number;
  timestamp: number;
  image_size: ImageSize;
}

/** `frame`: an encoded image for clients that do not run pose themselves. */
export interface ImageMessage {
  image: ArrayBuffer;
  frame_id: number;
  timestamp: number;
}

/** `configure`: only the keys given are changed. */
export interface ConfigureMessage {
  window_size?: number;
  /** null: the model's own overlap */
  overlap?: number | null;
  model_id?: string | null;
  image_size?: ImageSize;
  include_features?: boolean;
}

/** The `keypoints` message of one frame. A frame with a non-finite coordinate (which the server
 * refuses as `non_finite`) is sent as a frame without detection. */
export function buildKeypointsMessage(frame: PoseFrame): KeypointsMessage {
  const { landmarks } = frame;
  const points: LandmarkPoint[] = [];
  if (landmarks && landmarks.length === LANDMARK_COUNT * CHANNELS && allFinite(landmarks)) {
    for (let i = 0; i < LANDMARK_COUNT; i++) {
      const o = i * CHANNELS;
      const point: LandmarkPoint = { x: landmarks[o], y: landmarks[o + 1], z: landmarks[o + 2] };
      if (Number.isFinite(landmarks[o + 3])) point.visibility = landmarks[o + 3];
      points.push(point);
    }
  }
  return {
    landmarks: points,
    frame_id: frame.frameId,
    timestamp: roundMs(frame.timestampMs),
    image_size: { width: Math.round(frame.imageSize.width), height: Math.round(frame.imageSize.height) },
  };
}

export function buildImageMessage(image: ArrayBuffer, frameId: number, timestampMs: number): ImageMessage {
  return { image, frame_id: frameId, timestamp: roundMs(timestampMs) };
}

export interface SessionSettings {
  imageSize: ImageSize | null;
  /** Frames shared by consecutive windows; null: the model's default. */
  overlap: number | null;
}

/** `configure` for this session's settings: only what is known is sent. */
export function buildConfigureMessage(settings: SessionSettings): ConfigureMessage {
  const message: ConfigureMessage = {};
  const size = settings.imageSize;
  if (size && size.width > 0 && size.height > 0) {
    message.image_size = { width: Math.round(size.width), height: Math.round(size.height) };
  }
  if (settings.overlap !== null && Number.isInteger(settings.overlap) && settings.overlap >= 0) {
    message.overlap = settings.overlap;
  }
  return message;
}

function allFinite(values: Float32Array): boolean {
  for (let i = 0; i < values.length; i++) {
    // a NaN visibility (every 4th value) is left out of the message; anything else must be finite
    if (!Number.isFinite(values[i]) && (i % CHANNELS !== 3 || !Number.isNaN(values[i]))) return false;
  }
  return true;
}

function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

// -- server -> client ------------------------------------------------------------------------

export interface FrameResult {
  label: string | null;
  classification?: string | null;
  probabilities: Record<string, number> | null;
  frame_id: number | null;
  timestamp: number | null;
  window_fill: number;
  window_size: number;
  processing_ms: number;
  dropped: number;
  model_id: string | null;
  backend?: string;
  results?: FrameResult[];
}

export interface SessionStatus {
  sid: string;
  model_id: string | null;
  window_size: number | null;
  stride: number | null;
  window_fill: number;
  messages: number;
  frames_in: number;
  frames_dropped: number;
  classifications: number;
  errors: number;
  last_label: string | null;
  last_frame_id: number | null;
}

export interface Heartbeat {
  server_time: number;
  active_model_id: string | null;
  session: SessionStatus | null;
}

export interface Configured extends Partial<SessionStatus> {
  model_id: string | null;
  window_size: number | null;
  stride: number | null;
  following_active: boolean;
  image_size: ImageSize | [number, number] | null;
}

export interface ServerError {
  code: string;
  message: string;
}

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
