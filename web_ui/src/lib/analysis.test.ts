import { describe, expect, it } from 'vitest';
import fallBodies from '../test/fixtures/analysis-falls.json';
import squatBodies from '../test/fixtures/analysis-squat.json';
import {
  EVENTS_SHOWN,
  FALL_THRESHOLD,
  acknowledgeAlarm,
  addAnalysis,
  analysisDetail,
  analysisValue,
  describeErrors,
  describeEvent,
  fallProbability,
  isAnalyzerName,
  sparklinePoints,
  type Analysis,
  type AnalysisEvent,
  type AnalysisView,
} from './analysis';
import { buildConfigureMessage } from './payload';

const squats = squatBodies as Analysis[];
const falls = fallBodies as Analysis[];

function fold(bodies: readonly Analysis[], start: AnalysisView | null = null): AnalysisView | null {
  return bodies.reduce<AnalysisView | null>((view, body) => addAnalysis(view, body), start);
}

function event(kind: string, values: Record<string, unknown> = {}, end_s = 1): AnalysisEvent {
  return { analyzer: 'gait', kind, start_frame: 0, end_frame: 0, start_s: end_s, end_s, values, errors: [] };
}

describe('addAnalysis', () => {
  it('folds the bodies: summary, newest frame, events newest first and their count', () => {
    const view = fold(squats)!;
    expect(view.summary).toEqual({ repetitions: 2, view: 'side' });
    expect(view.frameId).toBe(174);
    expect(view.messages).toBe(3);
    expect(view.eventCount).toBe(2);
    expect(view.events.map((e) => e.values.repetition)).toEqual([2, 1]);
    expect(view.alarm).toBe(false);
  });

  it('keeps the last EVENTS_SHOWN events', () => {
    const many: Analysis = {
      analyzer: 'gait',
      frame_id: 9,
      summary: { contacts: 9, cadence: 110 },
      events: Array.from({ length: 9 }, (_, i) => event('initial_contact', { foot: 'left' }, i)),
    };
    const view = addAnalysis(null, many);
    expect(view.events).toHaveLength(EVENTS_SHOWN);
    expect(view.events[0].end_s).toBe(8);
    expect(view.eventCount).toBe(9);
  });

  it("starts again for another analyzer's body", () => {
    const view = addAnalysis(fold(squats), falls[0]);
    expect(view.analyzer).toBe('falls');
    expect(view.messages).toBe(1);
    expect(view.events.map((e) => e.kind)).toEqual(['fall']);
  });

  it('raises the alarm on a fall, keeps it over later bodies until acknowledged', () => {
    const fell = fold(falls.slice(0, 1))!;
    expect(fell.alarm).toBe(true);
    expect(fallProbability(fell)).toBe(0.5923);
    const calm = addAnalysis(acknowledgeAlarm(fell), falls[1]); // a gap: no fall
    expect(calm.alarm).toBe(false);
    const again = addAnalysis(calm, falls[2]);
    expect(again.alarm).toBe(true);
    expect(again.probabilities).toEqual([0.5923, 0.5475]);
  });

  it('raises the alarm when a summary probability reaches the threshold', () => {
    const body = (p: number): Analysis => ({
      analyzer: 'falls',
      frame_id: 1,
      summary: { falls: 0, probability: p },
      events: [],
    });
    expect(addAnalysis(null, body(FALL_THRESHOLD - 0.01)).alarm).toBe(false);
    expect(addAnalysis(null, body(FALL_THRESHOLD)).alarm).toBe(true);
    expect(addAnalysis(null, body(0.2), 0.1).alarm).toBe(true);
  });
});

describe('what the panel says', () => {
  it('gives the headline per analyzer', () => {
    expect(analysisValue(fold(squats), 'squat')).toBe('2 repetitions');
    expect(analysisValue(fold(falls.slice(0, 1)), 'falls')).toBe('1 fall');
    expect(analysisValue(null, 'gait')).toBe('– steps/min');
    const gait: Analysis = { analyzer: 'gait', frame_id: 3, summary: { contacts: 1, cadence: 112.46 }, events: [] };
    expect(analysisValue(addAnalysis(null, gait), 'gait')).toBe('112.5 steps/min');
    expect(analysisDetail(addAnalysis(null, gait), 'gait')).toBe('1 contact');
    expect(analysisDetail(fold(squats), 'squat')).toBe('seen from the side');
    expect(analysisDetail(null, 'falls')).toBeNull();
  });

  it('describes each kind of event', () => {
    const [second, first] = fold(squats)!.events;
    expect(describeEvent(first)).toBe('Repetition 1 · knee 69° (2.87 s)');
    expect(describeErrors(second)).toEqual(['trunk lean 61.6']);
    expect(describeEvent(falls[0].events[0])).toBe('Fall 1 · p 0.59 (2.50 s)');
    expect(describeEvent(event('initial_contact', { foot: 'left', step_time_s: 0.5321 }, 3))).toBe(
      'left initial contact · step 0.53 s (3.00 s)',
    );
    expect(describeEvent(event('camera_angle', { view: 'front' }))).toBe('Camera angle: front (1.00 s)');
    expect(describeEvent(event('gap', { seconds: 2 }))).toBe('gap (1.00 s)');
  });

  it('knows the analyzer names', () => {
    expect(['squat', 'falls', 'gait'].every(isAnalyzerName)).toBe(true);
    expect(isAnalyzerName('cartwheel')).toBe(false);
    expect(isAnalyzerName(null)).toBe(false);
  });

  it('draws the sparkline inside its box, clamping values to 0..1', () => {
    expect(sparklinePoints([], 100, 10)).toBe('');
    expect(sparklinePoints([0, 0.5, 2], 100, 10)).toBe('0,10 50,5 100,0');
    expect(sparklinePoints([0.25], 100, 10)).toBe('0,7.5');
  });
});

describe('configure', () => {
  const settings = { imageSize: null, overlap: null, modelId: null, includeFeatures: false };
  it('names the analyzer, null to stop it, nothing when the page has no say', () => {
    expect(buildConfigureMessage({ ...settings, analyzer: 'gait' }).analyzer).toBe('gait');
    expect(buildConfigureMessage({ ...settings, analyzer: null })).toHaveProperty('analyzer', null);
    expect(buildConfigureMessage(settings)).not.toHaveProperty('analyzer');
  });
});
