import { useLive } from '../context/LiveContext';
import {
  ANALYZERS,
  ANALYZER_TITLES,
  FALL_THRESHOLD,
  acknowledgeAlarm,
  analysisDetail,
  analysisValue,
  describeErrors,
  describeEvent,
  fallProbability,
  isAnalyzerName,
  sparklinePoints,
  type AnalysisView,
} from '../lib/analysis';
import './AnalysisPanel.css';
import { PersonTag } from './PersonTag';

const SPARK_WIDTH = 240;
const SPARK_HEIGHT = 36;

/** The session's movement analyzer (none, squat, falls, gait; it needs no model) and what it
 * finds as frames go: repetitions and their form errors, the fall probability and an alarm,
 * the cadence and the last foot contacts. */
export function AnalysisPanel() {
  const { analyzer, setAnalyzer, analysis, updateAnalysis, connected } = useLive();
  const view = analysis && analysis.analyzer === analyzer ? analysis : null;
  return (
    <section className="panel" aria-labelledby="analysis-heading" data-testid="analysis-panel">
      <h2 id="analysis-heading">Movement analysis</h2>
      <div className="field">
        <label htmlFor="analyzer-choice">Analyzer</label>
        <select
          id="analyzer-choice"
          value={analyzer ?? ''}
          onChange={(e) => setAnalyzer(isAnalyzerName(e.target.value) ? e.target.value : null)}
        >
          <option value="">None</option>
          {ANALYZERS.map((name) => (
            <option key={name} value={name}>
              {ANALYZER_TITLES[name]}
            </option>
          ))}
        </select>
      </div>
      {analyzer === null ? (
        <p className="hint">Choose an analyzer to count squats, watch for falls or measure gait; it needs no model.</p>
      ) : (
        <>
          <div className="analysis-value" data-testid="analysis-value" role="status" aria-live="polite">
            {analysisValue(view, analyzer)}
          </div>
          {analysisDetail(view, analyzer) && <p className="muted">{analysisDetail(view, analyzer)}</p>}
          {typeof view?.trackId === 'number' && <PersonTag trackId={view.trackId} label="Analyzed person" />}
          {!connected && <p className="muted">Not connected: the analysis goes on when the server is back.</p>}
          {analyzer === 'falls' && (
            <FallProbability view={view} onAcknowledge={() => updateAnalysis((v) => v && acknowledgeAlarm(v))} />
          )}
          <EventList view={view} />
        </>
      )}
    </section>
  );
}

function FallProbability({ view, onAcknowledge }: { view: AnalysisView | null; onAcknowledge: () => void }) {
  const p = fallProbability(view);
  const over = p !== null && p >= FALL_THRESHOLD;
  const fall = view?.events.find((e) => e.kind === 'fall');
  return (
    <>
      {view?.alarm && (
        <div className="analysis-alarm" role="alert">
          <span>Fall detected{fall ? ` at ${fall.start_s.toFixed(1)} s` : ''}</span>
          <button type="button" onClick={onAcknowledge}>
            Acknowledge
          </button>
        </div>
      )}
      <div className="analysis-probability">
        <span>Fall probability</span>
        <span
          className={`bar${over ? ' over' : ''}`}
          role="meter"
          aria-label="Fall probability"
          aria-valuemin={0}
          aria-valuemax={1}
          aria-valuenow={p ?? 0}
        >
          <span style={{ width: `${Math.round((p ?? 0) * 100)}%` }} />
        </span>
        <span className="prob-value">{p === null ? '–' : p.toFixed(2)}</span>
      </div>
      {view && view.probabilities.length > 1 && (
        <svg
          className="analysis-sparkline"
          viewBox={`0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label="Fall probability over the last falls"
        >
          <line
            x1={0}
            x2={SPARK_WIDTH}
            y1={SPARK_HEIGHT * (1 - FALL_THRESHOLD)}
            y2={SPARK_HEIGHT * (1 - FALL_THRESHOLD)}
          />
          <polyline points={sparklinePoints(view.probabilities, SPARK_WIDTH, SPARK_HEIGHT)} />
        </svg>
      )}
      <p className="hint">The alarm is raised at probability {FALL_THRESHOLD} (the analyzer's threshold).</p>
    </>
  );
}

function EventList({ view }: { view: AnalysisView | null }) {
  if (!view || view.events.length === 0)
    return (
      <p className="muted" data-testid="analysis-events">
        No events yet.
      </p>
    );
  return (
    <ol
      className="analysis-events"
      data-testid="analysis-events"
      aria-label="Last analysis events"
      start={view.eventCount}
      reversed
    >
      {view.events.map((event, i) => {
        const errors = describeErrors(event);
        return (
          <li key={`${view.eventCount - i}`}>
            {describeEvent(event)}
            {errors.length > 0 && <div className="error-text small">form: {errors.join(', ')}</div>}
          </li>
        );
      })}
    </ol>
  );
}
