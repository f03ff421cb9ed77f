// The API's REST routes (docs/api.md): model upload, model list, activation.

export interface ModelRecord {
  id: string;
  filename: string;
  format: string;
  size_bytes: number;
  uploaded_at: string;
  window_size: number;
  window_stride: number;
  classes: string[] | null;
  n_input_columns: number;
}

export interface ActiveModel {
  model_id: string;
  window_size: number;
  stride: number;
  overlap: number;
  activated_at: string;
}

export interface ModelList {
  models: ModelRecord[];
  active: ActiveModel | null;
}

export interface ModelChange {
  /** The API's own sentence, e.g. "StreamPoseML Ready: classifier set to model.pkl." */
  result: string;
  model: ModelRecord;
  active: ActiveModel;
  warnings: string[];
}

/** A refused request or an unreachable server; `message` is the API's own when it sent one. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface WindowSettings {
  /** Only for legacy pooled models whose columns do not record the window. */
  windowSize?: number | null;
  overlap?: number | null;
}

/** The multipart form of `POST /set_model` (the seed UI's field names). */
export function buildUploadForm(file: Blob, filename: string, settings: WindowSettings): FormData {
  const form = new FormData();
  form.append('file', file, filename);
  if (settings.windowSize != null) form.append('frame_window_size', String(settings.windowSize));
  if (settings.overlap != null) form.append('frame_window_overlap', String(settings.overlap));
  return form;
}

export function authHeaders(token: string | null | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** The API's error body: `{"result", "error": {"code", "message"}}` or flat `{"error": code, "message"}`. */
export function errorFromBody(body: unknown, status: number): ApiError {
  const record = isRecord(body) ? body : {};
  const nested = isRecord(record.error) ? record.error : null;
  const message =
    (nested && typeof nested.message === 'string' && nested.message) ||
    (typeof record.message === 'string' && record.message) ||
    (typeof record.result === 'string' && record.result) ||
    `the API answered HTTP ${status}`;
  const code =
    (nested && typeof nested.code === 'string' && nested.code) ||
    (typeof record.error === 'string' && record.error) ||
    `http_${status}`;
  return new ApiError(message, code, status);
}

/** `fetch` with the API's errors as `ApiError`: unreachable, or the body of a refusal. */
export async function request<T>(url: string, init: RequestInit, fetchImpl: typeof fetch): Promise<T> {
  let response: Response;
  try {
    response = await fetchImpl(url, init);
  } catch (exc) {
    const origin = new URL(url).origin;
    throw new ApiError(
      `the API at ${origin} is unreachable (${(exc as Error).message}); is it running, and does it allow this page's origin (STREAM_POSE_ML_CORS_ORIGINS)?`,
      'unreachable',
      null,
    );
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { result: text.slice(0, 300) };
  }
  if (!response.ok) throw errorFromBody(body, response.status);
  return body as T;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  listModels(): Promise<ModelList> {
    return request<ModelList>(`${this.baseUrl}/models`, { method: 'GET' }, this.fetchImpl);
  }

  uploadModel(file: File, settings: WindowSettings, token: string | null): Promise<ModelChange> {
    return request<ModelChange>(
      `${this.baseUrl}/set_model`,
      { method: 'POST', body: buildUploadForm(file, file.name, settings), headers: authHeaders(token) },
      this.fetchImpl,
    );
  }

  activateModel(id: string, settings: WindowSettings, token: string | null): Promise<ModelChange> {
    const body: Record<string, number> = {};
    if (settings.windowSize != null) body.window_size = settings.windowSize;
    if (settings.overlap != null) body.overlap = settings.overlap;
    return request<ModelChange>(
      `${this.baseUrl}/models/${encodeURIComponent(id)}/activate`,
      {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', ...authHeaders(token) },
      },
      this.fetchImpl,
    );
  }
}
