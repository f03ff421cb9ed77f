import { describe, expect, it } from 'vitest';
import {
  JobsClient,
  buildJobForm,
  formatEta,
  formatFps,
  jobFileUrl,
  mergeJob,
  parseJob,
  jobTracks,
  rerunForTrack,
  timeToX,
  validateJobForm,
  xToTime,
  type JobForm,
} from './jobs';
import { errorFromBody } from './api';

const JOB = {
  id: 'j_1',
  status: 'running',
  created_s: 1,
  started_s: 2,
  finished_s: null,
  video: { sha256: 'ab', filename: 'demo.mp4', bytes: 10, width: 640, height: 360, fps: 30, frames: 90, duration_s: 3 },
  settings: { complexity: 'lite' },
  model: null,
  progress: { frames_done: 45, frames_total: 90, percent: 50, fps: 22.5, eta_s: 2 },
  error: null,
  files: [{ name: 'annotated.mp4', bytes: 1, content_type: 'video/mp4' }],
  summary: null,
};
const FORM: JobForm = {
  complexity: 'lite',
  numPoses: 2,
  subject: 'longest',
  analyzers: ['gait', 'squat'],
  classify: false,
};

describe('parseJob', () => {
  it('keeps a job dict', () => {
    const job = parseJob(JOB);
    expect(job.progress.percent).toBe(50);
    expect(job.video.filename).toBe('demo.mp4');
    expect(job.files[0].name).toBe('annotated.mp4');
    expect(job.error).toBeNull();
  });
  it('refuses what is not a job', () => {
    expect(() => parseJob(null)).toThrow(/no id/);
    expect(() => parseJob({ ...JOB, status: 'weird' })).toThrow(/unknown status/);
  });
  it('clamps percent and reads a failure', () => {
    const job = parseJob({
      ...JOB,
      status: 'failed',
      progress: { percent: 140 },
      error: { code: 'x', message: 'boom' },
    });
    expect(job.progress.percent).toBe(100);
    expect(job.progress.eta_s).toBeNull();
    expect(job.error?.message).toBe('boom');
  });
  it('merges a changed job in place and a new one first', () => {
    const a = parseJob(JOB);
    const b = parseJob({ ...JOB, id: 'j_2' });
    const list = mergeJob([a], b);
    expect(list.map((j) => j.id)).toEqual(['j_2', 'j_1']);
    const done = parseJob({ ...JOB, status: 'done' });
    expect(mergeJob(list, done)[1].status).toBe('done');
  });
});

describe('timeline mapping', () => {
  it('maps time to x and back', () => {
    expect(timeToX(2, 4, 800)).toBe(400);
    expect(xToTime(400, 4, 800)).toBe(2);
    expect(xToTime(timeToX(1.25, 4, 800), 4, 800)).toBeCloseTo(1.25);
  });
  it('clamps outside the range and survives zero duration', () => {
    expect(timeToX(-1, 4, 800)).toBe(0);
    expect(timeToX(9, 4, 800)).toBe(800);
    expect(xToTime(900, 4, 800)).toBe(4);
    expect(timeToX(1, 0, 800)).toBe(0);
    expect(xToTime(1, 4, 0)).toBe(0);
  });
});

describe('formatting', () => {
  it('formats the time left', () => {
    expect(formatEta(null)).toBe('');
    expect(formatEta(12.4)).toBe('12 s left');
    expect(formatEta(65)).toBe('1:05 left');
    expect(formatEta(3725)).toBe('1:02:05 left');
  });
  it('formats frames per second', () => {
    expect(formatFps(0)).toBe('');
    expect(formatFps(22.46)).toBe('22.5 frames/s');
    expect(formatFps(240.4)).toBe('240 frames/s');
  });
});

describe('the job form', () => {
  it('builds the multipart fields', () => {
    const file = new File(['x'], 'clip.mp4', { type: 'video/mp4' });
    const data = buildJobForm(FORM, { file, video: null });
    expect((data.get('file') as File).name).toBe('clip.mp4');
    expect(data.get('num_poses')).toBe('2');
    expect(data.get('analyzers')).toBe('gait,squat');
    expect(data.get('classify')).toBe('false');
    expect(data.get('subject')).toBe('longest');
    const picked = buildJobForm(FORM, { file: null, video: 'ab' });
    expect(picked.get('video')).toBe('ab');
    expect(picked.get('file')).toBeNull();
  });
  it('says what is wrong', () => {
    expect(validateJobForm(FORM, { file: null, video: null })).toMatch(/Choose a video/);
    expect(validateJobForm({ ...FORM, numPoses: 7 }, { file: null, video: 'ab' })).toMatch(/1 to 6/);
    expect(validateJobForm(FORM, { file: null, video: 'ab' })).toBeNull();
  });
  it('builds file URLs with token and download', () => {
    expect(jobFileUrl('http://a', 'j_1', 'annotated.mp4', null)).toBe('http://a/jobs/j_1/files/annotated.mp4');
    expect(jobFileUrl('http://a', 'j_1', 'events.csv', 't k', true)).toBe(
      'http://a/jobs/j_1/files/events.csv?download=1&token=t+k',
    );
  });
});

describe('API errors', () => {
  it('reads flat and nested error bodies', () => {
    const flat = errorFromBody({ error: 'bad_video', message: 'not a video' }, 415);
    expect([flat.code, flat.message, flat.status]).toEqual(['bad_video', 'not a video', 415]);
    const nested = errorFromBody({ error: { code: 'too_large', message: 'over 1 MiB' } }, 413);
    expect([nested.code, nested.message]).toEqual(['too_large', 'over 1 MiB']);
    expect(errorFromBody(null, 500).message).toMatch(/HTTP 500/);
  });
  it('the client sends the token and throws the API message', async () => {
    const seen: RequestInit[] = [];
    const fetchStub = (async (_url: string, init: RequestInit) => {
      seen.push(init);
      return new Response(JSON.stringify({ error: 'too_large', message: 'the video is over 1 MiB' }), { status: 413 });
    }) as unknown as typeof fetch;
    const client = new JobsClient('http://a', 'tok', fetchStub);
    await expect(client.submit(new FormData())).rejects.toThrow('the video is over 1 MiB');
    expect((seen[0].headers as Record<string, string>).Authorization).toBe('Bearer tok');
  });
});

describe('people of a finished job', () => {
  const done = parseJob({
    ...JOB,
    status: 'done',
    settings: { complexity: 'lite', num_poses: 2, subject: 'moves_most', analyzers: ['gait'], classify: false },
    summary: { subject: 1, tracks: [{ id: 0, frames: 193 }, { id: 1, frames: 142 }, { id: 'x' }] },
  });
  it('reads the tracks and the analyzed id, and ignores bad entries', () => {
    expect(jobTracks(done)).toEqual({
      tracks: [
        { id: 0, frames: 193 },
        { id: 1, frames: 142 },
      ],
      subject: 1,
    });
    expect(jobTracks(parseJob(JOB))).toEqual({ tracks: [], subject: null });
  });
  it('re-runs with the same settings for another id, as a valid multipart form', () => {
    const form = rerunForTrack(done, 0);
    expect(form).toEqual({ complexity: 'lite', numPoses: 2, subject: 0, analyzers: ['gait'], classify: false });
    expect(validateJobForm(form, { file: null, video: 'ab'.repeat(32) })).toBeNull();
    expect(buildJobForm(form, { file: null, video: 'ab'.repeat(32) }).get('subject')).toBe('0');
    expect(validateJobForm({ ...form, subject: -1 }, { file: null, video: 'v' })).toMatch(/track id/);
  });
});
