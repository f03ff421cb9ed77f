import { useState, type FormEvent } from 'react';
import { SERVER_ERROR_SHOWN_MS, TIMELINE_SECONDS } from '../config';
import { useLive } from '../context/LiveContext';
import { sessionModelName, useModelsView } from '../context/ModelsContext';
import { noInputReason, useSource } from '../context/SourceContext';
import { classColor } from '../lib/timeline';
import { windowTerms } from '../lib/windowTerms';
import { DiagnosticsSection } from './DiagnosticsSection';
import { PersonTag } from './PersonTag';
import { TimelineChart } from './TimelineChart';

/** What the model says now and how it changed (first), the session's window, and how the
 * pipeline keeps up (Diagnostics, folded). While the server cannot be reached, the result shown
 * is the last one; while there is no video, none. */
export function ClassificationPanel() {
  const { lastResult: result, timeline, session, lastError, lastWarning, overlap, setOverlap, connected } = useLive();
  const modelsView = useModelsView();
  const { classes } = modelsView;
  const [overlapDraft, setOverlapDraft] = useState(overlap === null ? '' : String(overlap));
  const idle = noInputReason(useSource());
  const label = result?.label ?? null;
  const probabilities = result?.probabilities ?? null;
  const shown = classes.length > 0 ? classes : Object.keys(probabilities ?? {});
  const fill = result?.window_fill ?? session?.window_fill ?? 0;
  const modelName = sessionModelName(modelsView);
  const person = idle ? null : (result?.track_id ?? null);

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
      <div
        className={`current-label${idle ? ' empty' : ''}`}
        role="status"
        aria-live="polite"
        aria-label="Current label"
      >
        {idle ?? label ?? (result ? `filling the window… ${Math.round(fill * 100)} %` : 'no result yet')}
      </div>
      {person !== null && <PersonTag trackId={person} label="Classified person" />}
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
      <form className="session-window" onSubmit={applyOverlap}>
        <span className="muted" aria-label="Session window">
          {modelName ? `Model ${modelName} · ` : ''}
          Window: {windowTerms(session?.window_size ?? result?.window_size, session?.stride)}
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
      <DiagnosticsSection />
    </section>
  );
}
