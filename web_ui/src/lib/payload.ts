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
  SessionStatus,
} from './messages.gen';
import { CHANNELS, LANDMARK_COUNT, type ImageSize, type PoseFrame } from './pose';

export type { ConfigureMessage, Configured, FrameResult, Heartbeat, ServerError, SessionStatus };

/** socket.io-client's listen events: the server's events and their payloads. */
export type ServerEvents = { [E in keyof ServerToClient]-?: (body: NonNullable<ServerToClient[E]>) => void };
/** socket.io-client's emit events: what a client sends (`heartbeat` has no payload). */
export type ClientEvents = {
  [E in Exclude<keyof ClientToServer, 'heartbeat'>]-?: (message: NonNullable<ClientToServer[E]>) => void;
} & { heartbeat: () => void };

/** `keypoints` as this page sends it: one frame, 33 landmark objects or none (nobody detected). */
export type SentKeypointsMessage = KeypointsFrame & {
  landmarks: Landmark[];
  frame_id: number;
  timestamp: number;
  image_size: ImageSize;
};

/** `frame` as this page sends it: a JPEG for clients that do not run pose themselves. */
export type SentImageMessage = FrameMessage & { image: ArrayBuffer; frame_id: number; timestamp: number };

/** The `keypoints` message of one frame. A frame with a non-finite coordinate (which the server
 * refuses as `non_finite`) is sent as a frame without detection; a NaN visibility is left out
 * (the server then takes NaN; JSON has no NaN). */
export function buildKeypointsMessage(frame: PoseFrame): SentKeypointsMessage {
  const { landmarks } = frame;
  const points: Landmark[] = [];
  if (landmarks && landmarks.length === LANDMARK_COUNT * CHANNELS && allFinite(landmarks)) {
    for (let i = 0; i < LANDMARK_COUNT; i++) {
      const o = i * CHANNELS;
      const point: Landmark = { x: landmarks[o], y: landmarks[o + 1], z: landmarks[o + 2] };
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

export function buildImageMessage(image: ArrayBuffer, frameId: number, timestampMs: number): SentImageMessage {
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

/** `configure` after the user changed a setting: as buildConfigureMessage, and a cleared overlap
 * goes back to the model's (`overlap: null`). */
export function buildSettingsChangeMessage(settings: SessionSettings): ConfigureMessage {
  return { overlap: null, ...buildConfigureMessage(settings) };
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
