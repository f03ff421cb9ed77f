import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { io } from 'socket.io-client';
import { AnalysisTimeline } from '../components/AnalysisTimeline';
import { EventsTable } from '../components/EventsTable';
import { JobPeople } from '../components/JobPeople';
import { STORAGE_KEYS } from '../config';
import { useApiUrl } from '../hooks/useApiUrl';
import {
  DOWNLOADS,
  JobsClient,
  buildJobForm,
  formatEta,
  formatFps,
  isActive,
  jobFileUrl,
  mergeJob,
  parseJob,
  validateJobForm,
  type AnalyzerInfo,
  type Job,
  type JobForm,
  type Timeline,
  type VideoRecord,
} from '../lib/jobs';
import type { Route } from '../lib/route';

function loadToken(): string {
  try {
    return window.sessionStorage.getItem(STORAGE_KEYS.token) ?? '';
  } catch {
    return '';
  }
}

/** Live job dicts from Socket.IO `watch_jobs` on its own connection. */
function useJobEvents(apiUrl: string, token: string | null, onJob: (job: Job) => void, onJobs: (jobs: Job[]) => void) {
  useEffect(() => {
    const socket = io(apiUrl, { transports: ['websocket'] });
    socket.on('connect', () => socket.emit('watch_jobs', token ? { token } : undefined));
    socket.on('job', (message: { job?: unknown }) => {
      try {
        onJob(parseJob(message.job));
      } catch {
        // not a job dict: ignored
      }
    });
    socket.on('jobs', (message: { jobs?: unknown }) => {
      if (Array.isArray(message.jobs)) onJobs(message.jobs.map(parseJob));
    });
    return () => {
      socket.disconnect();
    };
  }, [apiUrl, token, onJob, onJobs]);
}

function ProgressBar({ job }: { job: Job }) {
  const p = job.progress;
  return (
    <div data-testid="job-progress">
      <progress max={100} value={p.percent} aria-label={`${job.id} progress`} />{' '}
      <span>
        {p.percent.toFixed(0)} % {job.status} {formatFps(p.fps)} {formatEta(p.eta_s)}
      </span>
    </div>
  );
}

/** Video analysis: upload a video or pick a processed one, follow its job, see its result. */
export function AnalyzePage({ route, go }: { route: Route; go: (route: Route) => void }) {
  const [apiUrl] = useApiUrl();
  const [token, setToken] = useState(loadToken);
  const tokenOrNull = token.trim() || null;
  const client = useMemo(() => new JobsClient(apiUrl, tokenOrNull), [apiUrl, tokenOrNull]);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [error, setError] = useState<string | null>(null);
  const onJob = useCallback((job: Job) => setJobs((list) => mergeJob(list, job)), []);
  const onJobs = useCallback((list: Job[]) => setJobs(list), []);
  useJobEvents(apiUrl, tokenOrNull, onJob, onJobs);

  useEffect(() => {
    client.jobs().then(setJobs, (exc: Error) => setError(exc.message));
  }, [client]);

  return (
    <main className="layout">
      <label htmlFor="jobs-token">API token</label>{' '}
      <input
        id="jobs-token"
        type="password"
        value={token}
        onChange={(e) => {
          setToken(e.target.value);
          try {
            window.sessionStorage.setItem(STORAGE_KEYS.token, e.target.value);
          } catch {
            // storage disabled
          }
        }}
      />
      {route.page === 'job' ? (
        <JobView client={client} jobId={route.jobId} jobs={jobs} onJob={onJob} token={tokenOrNull} go={go} />
      ) : (
        <>
          <UploadForm client={client} onJob={(job) => (onJob(job), go({ page: 'job', jobId: job.id }))} />
          <h2>Jobs</h2>
          {error && <p role="alert">{error}</p>}
          <ul data-testid="job-list">
            {jobs.map((job) => (
              <li key={job.id}>
                <a href={`#/jobs/${job.id}`}>
                  {job.video.filename} ({job.id})
                </a>{' '}
                <ProgressBar job={job} />
                {isActive(job) && (
                  <button
                    type="button"
                    onClick={() => client.cancel(job.id).then(onJob, (e: Error) => setError(e.message))}
                  >
                    Cancel
                  </button>
                )}
                <button
                  type="button"
                  onClick={() =>
                    client.remove(job.id).then(
                      () => setJobs((list) => list.filter((j) => j.id !== job.id)),
                      (e: Error) => setError(e.message),
                    )
                  }
                >
                  Delete
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}

function UploadForm({ client, onJob }: { client: JobsClient; onJob: (job: Job) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [video, setVideo] = useState<string | null>(null);
  const [videos, setVideos] = useState<VideoRecord[]>([]);
  const [analyzers, setAnalyzers] = useState<AnalyzerInfo[]>([]);
  const [form, setForm] = useState<JobForm>({
    complexity: 'lite',
    numPoses: 1,
    subject: 'largest',
    analyzers: [],
    classify: true,
  });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    client.analyzers().then(setAnalyzers, (e: Error) => setError(e.message));
    client.videos().then(setVideos, () => undefined);
  }, [client]);

  function submit(event: FormEvent) {
    event.preventDefault();
    const source = { file, video };
    const problem = validateJobForm(form, source);
    if (problem) return setError(problem);
    setBusy(true);
    setError(null);
    client
      .submit(buildJobForm(form, source))
      .then(onJob, (e: Error) => setError(e.message))
      .finally(() => setBusy(false));
  }

  return (
    <form onSubmit={submit} aria-label="Analyze a video">
      <h2>Analyze a video</h2>
      <label>
        Video{' '}
        <input
          type="file"
          accept="video/*"
          data-testid="video-file"
          onChange={(e) => setFile(e.target.files?.[0] ?? null)}
        />
      </label>
      {videos.length > 0 && (
        <label>
          or pick a video already uploaded{' '}
          <select value={video ?? ''} onChange={(e) => setVideo(e.target.value || null)}>
            <option value="">—</option>
            {videos.map((v) => (
              <option key={v.sha256} value={v.sha256}>
                {v.filename} ({v.duration_s.toFixed(1)} s)
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Complexity{' '}
        <select
          value={form.complexity}
          onChange={(e) => setForm({ ...form, complexity: e.target.value as JobForm['complexity'] })}
        >
          <option value="lite">lite</option>
          <option value="full">full</option>
          <option value="heavy">heavy</option>
        </select>
      </label>
      <label>
        People{' '}
        <input
          type="number"
          min={1}
          max={6}
          value={form.numPoses}
          onChange={(e) => setForm({ ...form, numPoses: Number(e.target.value) })}
        />
      </label>
      <label>
        Subject{' '}
        <select
          value={form.subject}
          onChange={(e) => setForm({ ...form, subject: e.target.value as JobForm['subject'] })}
        >
          <option value="largest">largest in view</option>
          <option value="longest">seen the longest</option>
          <option value="moves_most">moves the most</option>
        </select>
      </label>
      <fieldset>
        <legend>Analyzers</legend>
        {analyzers.map((a) => (
          <label key={a.name} title={a.description}>
            <input
              type="checkbox"
              checked={form.analyzers.includes(a.name)}
              onChange={(e) =>
                setForm({
                  ...form,
                  analyzers: e.target.checked
                    ? [...form.analyzers, a.name]
                    : form.analyzers.filter((n) => n !== a.name),
                })
              }
            />
            {a.title || a.name}
          </label>
        ))}
      </fieldset>
      <label>
        <input
          type="checkbox"
          checked={form.classify}
          onChange={(e) => setForm({ ...form, classify: e.target.checked })}
        />
        Classify with the active model
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Uploading…' : 'Analyze'}
      </button>
      {error && (
        <p role="alert" data-testid="upload-error">
          {error}
        </p>
      )}
    </form>
  );
}

function JobView({
  client,
  jobId,
  jobs,
  onJob,
  token,
  go,
}: {
  client: JobsClient;
  jobId: string;
  jobs: Job[];
  onJob: (job: Job) => void;
  token: string | null;
  go: (route: Route) => void;
}) {
  const job = jobs.find((j) => j.id === jobId) ?? null;
  const [error, setError] = useState<string | null>(null);
  const [timeline, setTimeline] = useState<Timeline | null>(null);
  const [currentTime, setCurrentTime] = useState(0);
  const videoRef = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    client.job(jobId).then(onJob, (e: Error) => setError(e.message));
  }, [client, jobId, onJob]);
  const done = job?.status === 'done';
  useEffect(() => {
    if (done) client.timeline(jobId).then(setTimeline, (e: Error) => setError(e.message));
  }, [client, jobId, done]);
  const seek = useCallback((seconds: number) => {
    if (videoRef.current) videoRef.current.currentTime = seconds;
    setCurrentTime(seconds);
  }, []);

  return (
    <section aria-label={`Job ${jobId}`}>
      <p>
        <a href="#/analyze" onClick={() => go({ page: 'analyze' })}>
          ← all jobs
        </a>
      </p>
      <h2>{job ? `${job.video.filename} (${job.id})` : jobId}</h2>
      {error && <p role="alert">{error}</p>}
      {job && isActive(job) && (
        <>
          <ProgressBar job={job} />
          <button type="button" onClick={() => client.cancel(job.id).then(onJob, (e: Error) => setError(e.message))}>
            Cancel
          </button>
        </>
      )}
      {job?.status === 'failed' && (
        <p role="alert" data-testid="job-error">
          {job.error?.message ?? 'the job failed'}
        </p>
      )}
      {job?.status === 'cancelled' && <p data-testid="job-error">The job was cancelled.</p>}
      {done && (
        <>
          <video
            ref={videoRef}
            data-testid="job-video"
            controls
            src={jobFileUrl(client.baseUrl, jobId, 'annotated.mp4', token)}
            onTimeUpdate={(e) => setCurrentTime(e.currentTarget.currentTime)}
            style={{ maxWidth: '100%' }}
          />
          {timeline && <AnalysisTimeline timeline={timeline} currentTime={currentTime} onSeek={seek} />}
          {timeline && <EventsTable events={timeline.events} onSeek={seek} />}
          {job && (
            <JobPeople job={job} client={client} onJob={(next) => (onJob(next), go({ page: 'job', jobId: next.id }))} />
          )}
          <ul>
            {DOWNLOADS.map((name) => (
              <li key={name}>
                <a data-testid={`download-${name}`} href={jobFileUrl(client.baseUrl, jobId, name, token, true)}>
                  {name}
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
