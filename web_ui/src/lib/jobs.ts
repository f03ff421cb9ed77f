// Video analysis jobs (docs: notes/jobs_contract.md): the REST client, the job dict's types and the
// pure helpers the Analyze pages use (validation, form building, time <-> x, eta/fps text).

import { authHeaders, request } from './api';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface VideoRecord {
  sha256: string;
  filename: string;
  bytes: number;
  width: number;
  height: number;
  fps: number;
  frames: number;
  duration_s: number;
  created_s: number;
}

export interface JobProgress {
  frames_done: number;
  frames_total: number;
  percent: number;
  fps: number;
  eta_s: number | null;
}

export interface JobFile {
  name: string;
  bytes: number;
  content_type: string;
}

export interface Job {
  id: string;
  status: JobStatus;
  created_s: number;
  started_s: number | null;
  finished_s: number | null;
  video: VideoRecord;
  settings: Record<string, unknown>;
  model: { model_id: string; filename: string } | null;
  progress: JobProgress;
  error: { code: string; message: string } | null;
  files: JobFile[];
  summary: Record<string, unknown> | null;
}

export interface AnalyzerInfo {
  name: string;
  title: string;
  description: string;
}

export interface TimelineSeries {
  key: string;
  label: string;
  unit: string;
  t: number[];
  v: (number | null)[];
}

export interface TimelineEvent {
  analyzer: string;
  kind: string;
  start_s: number;
  end_s: number;
  frame_start: number;
  frame_end: number;
  text: string;
  errors: string[];
  values: Record<string, unknown>;
}

export interface Timeline {
  fps: number;
  duration_s: number;
  frames: number;
  series: TimelineSeries[];
  labels: { start_s: number; end_s: number; label: string }[];
  events: TimelineEvent[];
}

export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'done', 'failed', 'cancelled'];
export const DOWNLOADS = ['annotated.mp4', 'keypoints.json', 'events.csv', 'results.jsonl'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

const num = (value: unknown, fallback = 0): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;
const numOrNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** A job dict from the API, checked; throws on anything that is not one. */
export function parseJob(value: unknown): Job {
  if (!isRecord(value) || typeof value.id !== 'string' || !value.id) throw new Error('not a job: no id');
  const status = value.status as JobStatus;
  if (!JOB_STATUSES.includes(status)) throw new Error(`job ${value.id}: unknown status ${String(value.status)}`);
  const video = isRecord(value.video) ? value.video : {};
  const progress = isRecord(value.progress) ? value.progress : {};
  const error = isRecord(value.error)
    ? { code: String(value.error.code ?? 'error'), message: String(value.error.message ?? 'the job failed') }
    : null;
  const model = isRecord(value.model)
    ? { model_id: String(value.model.model_id ?? ''), filename: String(value.model.filename ?? '') }
    : null;
  return {
    id: value.id,
    status,
    created_s: num(value.created_s),
    started_s: numOrNull(value.started_s),
    finished_s: numOrNull(value.finished_s),
    video: {
      sha256: String(video.sha256 ?? ''),
      filename: String(video.filename ?? ''),
      bytes: num(video.bytes),
      width: num(video.width),
      height: num(video.height),
      fps: num(video.fps),
      frames: num(video.frames),
      duration_s: num(video.duration_s),
      created_s: num(video.created_s),
    },
    settings: isRecord(value.settings) ? value.settings : {},
    model,
    progress: {
      frames_done: num(progress.frames_done),
      frames_total: num(progress.frames_total),
      percent: Math.min(100, Math.max(0, num(progress.percent))),
      fps: num(progress.fps),
      eta_s: numOrNull(progress.eta_s),
    },
    error,
    files: Array.isArray(value.files)
      ? value.files.filter(isRecord).map((f) => ({
          name: String(f.name),
          bytes: num(f.bytes),
          content_type: String(f.content_type ?? ''),
        }))
      : [],
    summary: isRecord(value.summary) ? value.summary : null,
  };
}

/** The job list with `job` put in its place (new ones first); the list stays newest first. */
export function mergeJob(jobs: Job[], job: Job): Job[] {
  const index = jobs.findIndex((j) => j.id === job.id);
  if (index < 0) return [job, ...jobs];
  const copy = jobs.slice();
  copy[index] = job;
  return copy;
}

export const isActive = (job: Job): boolean => job.status === 'queued' || job.status === 'running';

/** "1:05" / "12 s" for a time left; "" when unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s left`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest} left` : `${m}:${rest} left`;
}

/** "24.5 frames/s" (one decimal under 100). */
export function formatFps(fps: number): string {
  if (!Number.isFinite(fps) || fps <= 0) return '';
  return `${fps < 100 ? fps.toFixed(1) : Math.round(fps)} frames/s`;
}

/** "0:03.20" for a position in a video. */
export function formatTime(seconds: number): string {
  const s = Math.max(0, seconds);
  return `${Math.floor(s / 60)}:${(s % 60).toFixed(2).padStart(5, '0')}`;
}

/** The x (in pixels) of time `t` on a timeline `width` wide covering `duration` seconds. */
export function timeToX(t: number, duration: number, width: number): number {
  if (!(duration > 0)) return 0;
  return (Math.min(Math.max(t, 0), duration) / duration) * width;
}

/** The time of pixel `x` on a timeline `width` wide (the inverse of timeToX, clamped). */
export function xToTime(x: number, duration: number, width: number): number {
  if (!(width > 0) || !(duration > 0)) return 0;
  return (Math.min(Math.max(x, 0), width) / width) * duration;
}

/** Who is analyzed when the video holds several people (the API's `subject` rules). */
export const JOB_SUBJECTS = ['largest', 'longest', 'moves_most'] as const;
export type JobSubject = (typeof JOB_SUBJECTS)[number];

export interface JobForm {
  complexity: 'lite' | 'full' | 'heavy';
  numPoses: number;
  /** A rule, or a track id from an earlier job on the same video with the same settings. */
  subject: JobSubject | number;
  analyzers: string[];
  classify: boolean;
}

/** What is wrong with the form, or null. */
export function validateJobForm(form: JobForm, source: { file: File | null; video: string | null }): string | null {
  if (!source.file && !source.video) return 'Choose a video file or pick an uploaded video.';
  if (!['lite', 'full', 'heavy'].includes(form.complexity)) return 'Complexity is lite, full or heavy.';
  if (!Number.isInteger(form.numPoses) || form.numPoses < 1 || form.numPoses > 6) return 'People is 1 to 6.';
  const subjectOk =
    typeof form.subject === 'number'
      ? Number.isInteger(form.subject) && form.subject >= 0
      : JOB_SUBJECTS.includes(form.subject);
  if (!subjectOk) return `Subject is one of ${JOB_SUBJECTS.join(', ')} or a track id.`;
  return null;
}

/** The multipart form of `POST /jobs`. */
export function buildJobForm(form: JobForm, source: { file: File | null; video: string | null }): FormData {
  const data = new FormData();
  if (source.file) data.append('file', source.file, source.file.name);
  else if (source.video) data.append('video', source.video);
  data.append('complexity', form.complexity);
  data.append('num_poses', String(form.numPoses));
  data.append('subject', String(form.subject));
  data.append('analyzers', form.analyzers.join(','));
  data.append('classify', form.classify ? 'true' : 'false');
  return data;
}

/** The URL of a job's file; `?token=` for a `<video src>` or link, `download=1` for an attachment. */
export function jobFileUrl(
  baseUrl: string,
  jobId: string,
  name: string,
  token: string | null,
  download = false,
): string {
  const params = new URLSearchParams();
  if (download) params.set('download', '1');
  if (token) params.set('token', token);
  const query = params.toString();
  return `${baseUrl}/jobs/${encodeURIComponent(jobId)}/files/${encodeURIComponent(name)}${query ? `?${query}` : ''}`;
}

export class JobsClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string | null,
    private readonly fetchImpl: typeof fetch = (...args) => fetch(...args),
  ) {}

  private async request(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
    const body = await request<unknown>(
      `${this.baseUrl}${path}`,
      { ...init, headers: authHeaders(this.token) },
      this.fetchImpl,
    );
    return isRecord(body) ? body : {};
  }

  async jobs(): Promise<Job[]> {
    const body = await this.request('/jobs');
    return Array.isArray(body.jobs) ? body.jobs.map(parseJob) : [];
  }

  async job(id: string): Promise<Job> {
    return parseJob((await this.request(`/jobs/${encodeURIComponent(id)}`)).job);
  }

  async submit(form: FormData): Promise<Job> {
    return parseJob((await this.request('/jobs', { method: 'POST', body: form })).job);
  }

  async cancel(id: string): Promise<Job> {
    return parseJob((await this.request(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' })).job);
  }

  async remove(id: string): Promise<void> {
    await this.request(`/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  async videos(): Promise<VideoRecord[]> {
    const body = await this.request('/videos');
    return Array.isArray(body.videos) ? (body.videos as VideoRecord[]) : [];
  }

  async analyzers(): Promise<AnalyzerInfo[]> {
    const body = await this.request('/analyzers');
    return Array.isArray(body.analyzers) ? (body.analyzers as AnalyzerInfo[]) : [];
  }

  async timeline(id: string): Promise<Timeline> {
    const body = await this.request(`/jobs/${encodeURIComponent(id)}/files/timeline.json`);
    return {
      fps: num(body.fps),
      duration_s: num(body.duration_s),
      frames: num(body.frames),
      series: Array.isArray(body.series) ? (body.series as TimelineSeries[]) : [],
      labels: Array.isArray(body.labels) ? (body.labels as Timeline['labels']) : [],
      events: Array.isArray(body.events) ? (body.events as TimelineEvent[]) : [],
    };
  }
}

export interface JobTrack {
  id: number;
  frames: number;
}

/** The people a finished job tracked (`summary.tracks`) and the one it analyzed. */
export function jobTracks(job: Job): { tracks: JobTrack[]; subject: number | null } {
  const summary = job.summary ?? {};
  const tracks = Array.isArray(summary.tracks)
    ? summary.tracks
        .filter(isRecord)
        .map((t) => ({ id: num(t.id, -1), frames: num(t.frames) }))
        .filter((t) => Number.isInteger(t.id) && t.id >= 0)
    : [];
  return { tracks, subject: numOrNull(summary.subject) };
}

/** The form of a new job on `job`'s video with its settings, analyzing track `trackId`. */
export function rerunForTrack(job: Job, trackId: number): JobForm {
  const s = job.settings;
  const complexity = ['lite', 'full', 'heavy'].includes(String(s.complexity)) ? s.complexity : 'full';
  return {
    complexity: complexity as JobForm['complexity'],
    numPoses: num(s.num_poses, 1),
    subject: trackId,
    analyzers: Array.isArray(s.analyzers) ? s.analyzers.map(String) : [],
    classify: s.classify !== false,
  };
}
