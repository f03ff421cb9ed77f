import { useState } from 'react';
import { JobsClient, buildJobForm, jobTracks, rerunForTrack, type Job } from '../lib/jobs';

/** The people a finished job tracked, and a new job for any of them (same video and settings). */
export function JobPeople({ job, client, onJob }: { job: Job; client: JobsClient; onJob: (job: Job) => void }) {
  const { tracks, subject } = jobTracks(job);
  const [error, setError] = useState<string | null>(null);
  if (tracks.length < 2) return null;
  const analyze = (trackId: number) => {
    setError(null);
    client
      .submit(buildJobForm(rerunForTrack(job, trackId), { file: null, video: job.video.sha256 }))
      .then(onJob, (e: Error) => setError(e.message));
  };
  return (
    <section aria-label="People in the video">
      <h3>People</h3>
      <ul data-testid="job-people">
        {tracks.map((t) => (
          <li key={t.id}>
            Person #{t.id} ({t.frames} frames){' '}
            {t.id === subject ? (
              <strong>analyzed</strong>
            ) : (
              <button type="button" onClick={() => analyze(t.id)}>
                Analyze #{t.id}
              </button>
            )}
          </li>
        ))}
      </ul>
      {error && <p role="alert">{error}</p>}
    </section>
  );
}
