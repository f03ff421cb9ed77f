import { useState, type FormEvent } from 'react';
import { SERVER_ERROR_SHOWN_MS, TIMELINE_SECONDS } from '../config';
import { useLive } from '../context/LiveContext';
import { useModelsView } from '../context/ModelsContext';
import { usePoseView } from '../context/PoseContext';
import { useSource } from '../context/SourceContext';
import { classColor } from '../lib/timeline';
import { TimelineChart } from './TimelineChart';

function plural(count: number | null | undefined, noun: string): string {
  if (count === null || count === undefined) return '–';
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} ms` : '–';
}

/** What the model says now, how it changed, and how the pipeline keeps up. While the server
 * cannot be reached, the result shown is the last one. */
export function ClassificationPanel() {
  const {
    lastResult: result,
    timeline,
    stats,
    session,
    lastError,
    lastWarning,
    overlap,
    setOverlap,
    connected,
  } = useLive();
  const { classes } = useModelsView();
  const pose = usePoseView().pose.stats;
  const { sendMode } = useSource().settings;
  const [overlapDraft, setOverlapDraft] = useState(overlap === null ? '' : String(overlap));
  const label = result?.label ?? null;
  const probabilities = result?.probabilities ?? null;
  const shown = classes.length > 0 ? classes : Object.keys(probabilities ?? {});
  const fill = result?.window_fill ?? session?.window_fill ?? 0;

  const applyOverlap = (event: FormEvent) => {
    event.preventDefault();
    const text = overlapDraft.trim();
    setOverlap(text === '' ? null : Math.max(0, Math.round(Number(text))));
  };

  return (
    <section
      className={`panel classification${!connected && result ? ' stale' : ''}`}
      aria-labelledby="classification-heading"
    >
      <h2 id="classification-heading">Classification</h2>
      <div className="current-label" role="status" aria-live="polite" aria-label="Current label">
        {label ?? (result ? `filling the window… ${Math.round(fill * 100)} %` : 'no result yet')}
      </div>
      {!connected && result && <p className="muted stale-note">Last result before the connection was lost.</p>}
      {probabilities && (
        <ul className="probabilities" aria-label="Class probabilities">
          {shown.map((name) => {
            const p = probabilities[name] ?? 0;
            return (
              <li key={name}>
                <span className="prob-label">{name}</span>
                <span
                  className="bar"
                  role="meter"
                  aria-label={`${name} probability`}
                  aria-valuemin={0}
                  aria-valuemax={1}
                  aria-valuenow={p}
                >
                  <span style={{ width: `${(p * 100).toFixed(1)}%`, background: classColor(shown.indexOf(name)) }} />
                </span>
                <span className="prob-value">{(p * 100).toFixed(0)} %</span>
              </li>
            );
          })}
        </ul>
      )}
      <TimelineChart points={timeline} classes={shown} seconds={TIMELINE_SECONDS} />
      <dl className="stats" aria-label="Live statistics">
        <div>
          <dt>Pose fps</dt>
          <dd data-stat="pose-fps">{sendMode === 'keypoints' ? pose.fps.toFixed(1) : '–'}</dd>
        </div>
        <div>
          <dt>Pose inference</dt>
          <dd data-stat="inference">{ms(pose.inferenceMs)}</dd>
        </div>
        <div>
          <dt>Main thread per frame</dt>
          <dd data-stat="main-thread">{ms(pose.mainThreadMs)}</dd>
        </div>
        <div>
          <dt>Long tasks (&gt; 50 ms)</dt>
          <dd data-stat="long-tasks">{pose.longTasks}</dd>
        </div>
        <div>
          <dt>{sendMode === 'keypoints' ? 'Frames sent' : 'Images sent'}</dt>
          <dd data-stat="frames-sent">{sendMode === 'keypoints' ? stats.framesSent : stats.imagesSent}</dd>
        </div>
        <div title="keypoints or frame messages: frames leave together, up to the next window the server classifies">
          <dt>Messages sent</dt>
          <dd data-stat="messages-sent">{stats.messagesSent}</dd>
        </div>
        <div>
          <dt>Results per second</dt>
          <dd data-stat="results-rate">{stats.resultsPerSecond.toFixed(1)}</dd>
        </div>
        <div>
          <dt>Server latency</dt>
          <dd data-stat="latency">{ms(stats.latencyMs)}</dd>
        </div>
        <div>
          <dt>Server processing</dt>
          <dd data-stat="processing">{ms(stats.processingMs)}</dd>
        </div>
        <div title="windows or images the server dropped because newer ones were waiting">
          <dt>Dropped by the server</dt>
          <dd data-stat="dropped">{stats.dropped}</dd>
        </div>
        <div title="camera frames that arrived while pose was still busy with the previous one">
          <dt>Skipped (pose busy)</dt>
          <dd data-stat="skipped">{pose.skipped}</dd>
        </div>
        <div title="frames while disconnected or before the server has a model">
          <dt>Not sent</dt>
          <dd data-stat="not-sent">{stats.notSent}</dd>
        </div>
        <div title="error events from the server; the last one is shown below">
          <dt>Server errors</dt>
          <dd data-stat="errors">{stats.errors}</dd>
        </div>
      </dl>
      <form className="session-window" onSubmit={applyOverlap}>
        <span className="muted">
          Window: {plural(session?.window_size ?? result?.window_size, 'frame')}, stride {session?.stride ?? '–'}
        </span>
        <label htmlFor="session-overlap">Overlap (frames)</label>
        <input
          id="session-overlap"
          type="number"
          min={0}
          placeholder="model's"
          value={overlapDraft}
          onChange={(e) => setOverlapDraft(e.target.value)}
        />
        <button type="submit">Apply to this session</button>
      </form>
      {lastError && Date.now() - lastError.at < SERVER_ERROR_SHOWN_MS && (
        <p role="alert" className="error-text" aria-label="Server error">
          Server: {lastError.message} ({lastError.code})
        </p>
      )}
      {lastWarning && Date.now() - lastWarning.at < SERVER_ERROR_SHOWN_MS && (
        <p role="status" className="warning-text" aria-label="Server warning">
          The server is overloaded: it skipped {lastWarning.frames_shed} frames of this session so far (they waited{' '}
          {lastWarning.lag_ms} ms); results come less often.
        </p>
      )}
    </section>
  );
}
