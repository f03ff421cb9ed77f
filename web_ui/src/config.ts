// Every setting of the web UI and its default, in one place. Components and hooks import from
// here; nothing else reads import.meta.env, the query string or hard-codes a default.

/** Where the API runs unless told otherwise (`python -m api`, gunicorn in docs/api.md). */
export const DEFAULT_API_URL = 'http://localhost:5001';
/** Query parameter that overrides the API URL for one visit: `?api=http://host:5001`. */
export const API_URL_PARAM = 'api';

export type PoseModelName = 'lite' | 'full' | 'heavy';
export type PoseDelegate = 'CPU' | 'GPU';
export type Smoothing = 'off' | 'light' | 'strong';
export type SendMode = 'keypoints' | 'images';
/** How keypoints are sent: `binary` SPK1 messages holding the frames up to the next due window
 * (lib/batching.ts; docs/api.md "Sending frames"), or `json`, one JSON message per frame (for a
 * server or proxy that does not take Socket.IO binary attachments). */
export type KeypointsFormat = 'binary' | 'json';

export const POSE_MODELS: readonly PoseModelName[] = ['lite', 'full', 'heavy'];

/** Served by this app (public/), never a CDN: the app works on a closed network. */
export function poseModelUrl(model: PoseModelName, base: string = import.meta.env.BASE_URL): string {
  return new URL(`${base}models/pose_landmarker_${model}.task`, window.location.href).href;
}
export function wasmBaseUrl(base: string = import.meta.env.BASE_URL): string {
  return new URL(`${base}wasm`, window.location.href).href;
}

export interface PoseSettings {
  model: PoseModelName;
  delegate: PoseDelegate;
  /** Most pose frames per second (camera frames beyond this are skipped). */
  maxFps: number;
  /** One Euro filter on the landmarks drawn and sent; the models were trained without it. */
  smoothing: Smoothing;
  /** MediaPipe thresholds, the same defaults as the Python extraction (PoseEstimator). */
  minPoseDetectionConfidence: number;
  minPosePresenceConfidence: number;
  minTrackingConfidence: number;
}

/** Frames posted to the pose worker and not answered yet, at most: with 2 the worker starts the
 * next frame as soon as it finishes one (throughput), at up to one frame of extra latency. */
export const POSE_MAX_IN_FLIGHT = 2;

export const DEFAULT_POSE_SETTINGS: PoseSettings = {
  model: 'full',
  delegate: 'CPU',
  maxFps: 30,
  smoothing: 'off',
  minPoseDetectionConfidence: 0.5,
  minPosePresenceConfidence: 0.5,
  minTrackingConfidence: 0.5,
};

/** One Euro filter parameters (Casiez et al. 2012): cutoffs in Hz, beta per unit speed. */
export const SMOOTHING_FILTERS: Record<Exclude<Smoothing, 'off'>, { minCutoff: number; beta: number }> = {
  light: { minCutoff: 3.0, beta: 0.5 },
  strong: { minCutoff: 1.0, beta: 0.2 },
};

export interface SourceSettings {
  sendMode: SendMode;
  /** In `keypoints` mode: stride-aligned binary batches, or one JSON message per frame. */
  keypointsFormat: KeypointsFormat;
  /** Most images per second in `images` mode: the server runs MediaPipe on each (tens of ms
   * of CPU) and drops the ones it cannot keep up with. */
  imageMaxFps: number;
  /** Images sent in `images` mode are scaled to at most this width (pixels). */
  imageMaxWidth: number;
  /** JPEG quality of images sent in `images` mode, 0..1. */
  jpegQuality: number;
}

export const DEFAULT_SOURCE_SETTINGS: SourceSettings = {
  sendMode: 'keypoints',
  keypointsFormat: 'binary',
  imageMaxFps: 10,
  imageMaxWidth: 640,
  jpegQuality: 0.8,
};

/** Camera resolution asked for; the browser gives the nearest it has. */
export const CAMERA_CONSTRAINTS = { width: { ideal: 1280 }, height: { ideal: 720 } } as const;

/** How the connection to the API is retried: socket.io-client's own reconnection
 * (lib/connection.ts's reconnectionOptions gives its Manager options). */
export interface ReconnectSettings {
  /** Delay before the first retry, ms; doubles each failed attempt up to maxMs. */
  baseMs: number;
  maxMs: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
  /** After this many failed attempts in a row the server is reported unreachable. */
  unreachableAfter: number;
  /** Timeout of one connection attempt, ms. */
  connectTimeoutMs: number;
}

export const RECONNECT: ReconnectSettings = {
  baseMs: 500,
  maxMs: 8000,
  jitter: 0.25,
  unreachableAfter: 2,
  connectTimeoutMs: 5000,
};

/** Most frames in one `keypoints` message: the server's STREAM_POSE_ML_MAX_FRAMES_PER_MESSAGE
 * (docs/api.md, "Configuration"); a longer wait for a due window is sent in parts. */
export const MAX_FRAMES_PER_MESSAGE = 120;

/** The client sends a `heartbeat` this often so an idle session is not closed (ms). */
export const HEARTBEAT_INTERVAL_MS = 15_000;
/** How much history the timeline chart shows (seconds). */
export const TIMELINE_SECONDS = 20;
/** Stats on screen are refreshed this often (ms); the data is collected every frame. */
export const STATS_REFRESH_MS = 250;
/** A server error stays on screen this long after the last one (ms). */
export const SERVER_ERROR_SHOWN_MS = 15_000;

export interface BluetoothSettings {
  serviceUuid: string;
  characteristicUuid: string;
  /** Class label -> text of the bytes written (`a`, `\x01`, ...); empty: write nothing. */
  mapping: Record<string, string>;
  /** A classification must hold this long before it is written (ms); 0 writes every change. */
  debounceMs: number;
}

/** The HM-10 style serial module the original study used. */
export const DEFAULT_BLUETOOTH_SETTINGS: BluetoothSettings = {
  serviceUuid: '0000ffe0-0000-1000-8000-00805f9b34fb',
  characteristicUuid: '0000ffe1-0000-1000-8000-00805f9b34fb',
  mapping: {},
  debounceMs: 500,
};
/** How many recent Bluetooth writes the panel lists. */
export const BLUETOOTH_WRITES_SHOWN = 8;
/** Bytes written for the positive class when the mapping does not say otherwise. */
export const POSITIVE_CLASS_BYTES = 'a';
/** The positive class of the original study's models. */
export const KNOWN_POSITIVE_LABELS: readonly string[] = ['Successful Weight Transfer'];

/** localStorage keys (the API token goes to sessionStorage: it is a secret). */
export const STORAGE_KEYS = {
  apiUrl: 'spml.apiUrl',
  pose: 'spml.pose',
  source: 'spml.source',
  bluetooth: 'spml.bluetooth',
  live: 'spml.live',
  token: 'spml.apiToken',
} as const;

export interface ApiUrlInputs {
  /** `window.location.search` */
  search: string;
  /** The runtime override saved from the connection panel, if any. */
  stored: string | null;
  /** `import.meta.env.VITE_API_URL` at build time. */
  buildTime: string | undefined;
}

/** The API URL: `?api=` first, then the saved override, then VITE_API_URL, then the default. */
export function resolveApiUrl({ search, stored, buildTime }: ApiUrlInputs): string {
  const fromQuery = new URLSearchParams(search).get(API_URL_PARAM);
  for (const candidate of [fromQuery, stored, buildTime]) {
    const normalized = candidate ? normalizeApiUrl(candidate) : null;
    if (normalized) return normalized;
  }
  return DEFAULT_API_URL;
}

/** `http(s)://host[:port][/path]` without a trailing slash, or null if it is not such a URL. */
export function normalizeApiUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export function initialApiUrl(): string {
  return resolveApiUrl({
    search: window.location.search,
    stored: safeStorage(() => window.localStorage.getItem(STORAGE_KEYS.apiUrl)),
    buildTime: import.meta.env.VITE_API_URL as string | undefined,
  });
}

function safeStorage<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null; // storage disabled (private mode, sandboxed frame)
  }
}
