// What the live page shows of the session's movement analyzer (docs/api.md, "Movement analysis"):
// the `analysis` events folded into one view, and the words and numbers each analyzer's panel shows.
import type { Analysis, AnalysisEvent } from './messages.gen';

export type { Analysis, AnalysisEvent };

/** The server's analyzers (`configure {"analyzer"}`). */
export const ANALYZERS = ['squat', 'falls', 'gait'] as const;
export type AnalyzerName = (typeof ANALYZERS)[number];

export const ANALYZER_TITLES: Record<AnalyzerName, string> = {
  squat: 'Squat repetitions',
  falls: 'Fall detection',
  gait: 'Gait',
};

/** The event kinds each analyzer sends that a Bluetooth device can react to. */
export const ANALYZER_EVENT_KINDS: Record<AnalyzerName, readonly string[]> = {
  squat: ['repetition'],
  falls: ['fall'],
  gait: ['initial_contact'],
};

/** The falls analyzer's default `threshold` (stream_pose_ml/analysis/falls.py, FallParams). */
export const FALL_THRESHOLD = 0.5;
/** Events listed in the panel, newest first. */
export const EVENTS_SHOWN = 6;
/** Fall probabilities kept for the sparkline. */
export const PROBABILITIES_KEPT = 30;

export function isAnalyzerName(value: unknown): value is AnalyzerName {
  return typeof value === 'string' && (ANALYZERS as readonly string[]).includes(value);
}

/** The analysis of this session so far. */
export interface AnalysisView {
  analyzer: string;
  /** The newest frame analysed. */
  frameId: number | null;
  summary: Record<string, unknown>;
  /** The last events, newest first (at most EVENTS_SHOWN). */
  events: AnalysisEvent[];
  /** `analysis` messages received. */
  messages: number;
  /** Events received (the newest `eventCount - seen` of `events` are new to a reader that has seen `seen`). */
  eventCount: number;
  /** Fall probabilities, oldest first (falls: from the fall events and the summary). */
  probabilities: number[];
  /** A fall arrived, or the probability reached the threshold, and nobody has acknowledged it. */
  alarm: boolean;
  /** The person analyzed in the newest message (several people); null or absent: not told. */
  trackId?: number | null;
}

function finiteNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The view after one `analysis` body; a body of another analyzer starts a new view. */
export function addAnalysis(
  view: AnalysisView | null,
  body: Analysis,
  threshold: number = FALL_THRESHOLD,
): AnalysisView {
  const base: AnalysisView =
    view && view.analyzer === body.analyzer
      ? view
      : {
          analyzer: body.analyzer,
          frameId: null,
          summary: {},
          events: [],
          messages: 0,
          eventCount: 0,
          probabilities: [],
          alarm: false,
        };
  const newestFirst = [...body.events].reverse();
  const probabilities = [...base.probabilities];
  for (const event of body.events) {
    const p = event.kind === 'fall' ? finiteNumber(event.values.probability) : null;
    if (p !== null) probabilities.push(p);
  }
  const summaryProbability = finiteNumber(body.summary.probability);
  if (summaryProbability !== null) probabilities.push(summaryProbability);
  const fell = body.events.some((e) => e.kind === 'fall');
  const over = summaryProbability !== null && summaryProbability >= threshold;
  return {
    analyzer: body.analyzer,
    frameId: body.frame_id ?? base.frameId,
    summary: { ...base.summary, ...body.summary },
    events: [...newestFirst, ...base.events].slice(0, EVENTS_SHOWN),
    messages: base.messages + 1,
    eventCount: base.eventCount + body.events.length,
    probabilities: probabilities.slice(-PROBABILITIES_KEPT),
    alarm: base.alarm || fell || over,
    trackId: body.track_id ?? null,
  };
}

/** The view with its alarm acknowledged. */
export function acknowledgeAlarm(view: AnalysisView): AnalysisView {
  return { ...view, alarm: false };
}

/** The newest fall probability, or null before the first. */
export function fallProbability(view: AnalysisView | null): number | null {
  return view?.probabilities.at(-1) ?? null;
}

function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The panel's headline figure: repetitions, falls or cadence. */
export function analysisValue(view: AnalysisView | null, analyzer: AnalyzerName): string {
  const summary = view?.summary ?? {};
  if (analyzer === 'squat') return plural(finiteNumber(summary.repetitions) ?? 0, 'repetition');
  if (analyzer === 'falls') return plural(finiteNumber(summary.falls) ?? 0, 'fall');
  const cadence = finiteNumber(summary.cadence);
  return cadence === null ? '– steps/min' : `${cadence.toFixed(1)} steps/min`;
}

/** A second line under the headline: the squat's view, the contacts so far. */
export function analysisDetail(view: AnalysisView | null, analyzer: AnalyzerName): string | null {
  const summary = view?.summary ?? {};
  if (analyzer === 'squat' && typeof summary.view === 'string') return `seen from the ${summary.view}`;
  if (analyzer === 'gait') return plural(finiteNumber(summary.contacts) ?? 0, 'contact');
  return null;
}

function words(kind: string): string {
  return kind.replace(/_/g, ' ');
}

function seconds(value: unknown): string | null {
  const s = finiteNumber(value);
  return s === null ? null : `${s.toFixed(2)} s`;
}

/** One event as a line of the panel's list. */
export function describeEvent(event: AnalysisEvent): string {
  const v = event.values;
  const at = `${event.end_s.toFixed(2)} s`;
  const parts: string[] = [];
  if (event.kind === 'repetition') {
    parts.push(`Repetition ${finiteNumber(v.repetition) ?? '?'}`);
    const knee = finiteNumber(v.min_knee_angle_deg);
    if (knee !== null) parts.push(`knee ${Math.round(knee)}°`);
    if (v.shallow === true) parts.push('shallow');
  } else if (event.kind === 'fall') {
    parts.push(`Fall ${finiteNumber(v.fall) ?? ''}`.trim());
    const p = finiteNumber(v.probability);
    if (p !== null) parts.push(`p ${p.toFixed(2)}`);
  } else if (event.kind === 'initial_contact' || event.kind === 'toe_off') {
    parts.push(`${typeof v.foot === 'string' ? `${v.foot} ` : ''}${words(event.kind)}`);
    const step = seconds(v.step_time_s);
    if (step) parts.push(`step ${step}`);
  } else if (event.kind === 'camera_angle') {
    parts.push(`Camera angle${typeof v.view === 'string' ? `: ${v.view}` : ''}`);
  } else {
    parts.push(words(event.kind));
  }
  return `${parts.join(' · ')} (${at})`;
}

/** The form errors of an event, as words: "trunk lean 61.6". */
export function describeErrors(event: AnalysisEvent): string[] {
  return event.errors.map((e) => (e.value === null ? words(e.kind) : `${words(e.kind)} ${round1(e.value)}`));
}

function round1(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** An SVG polyline's points for values 0..1, `width` x `height`, oldest on the left. */
export function sparklinePoints(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((value, i) => {
      const y = height - Math.min(1, Math.max(0, value)) * height;
      return `${round1(i * step)},${round1(y)}`;
    })
    .join(' ');
}
