import { describe, expect, it } from 'vitest';
import type { FrameResult } from './payload';
import { Timeline, chartGeometry, classColor, timelineClasses } from './timeline';

const result = (label: string | null, p = 0.8, extra: Partial<FrameResult> = {}): FrameResult => ({
  label,
  classification: label,
  probabilities: label === null ? null : { A: label === 'A' ? p : 1 - p, B: label === 'B' ? p : 1 - p },
  frame_id: 1,
  timestamp: 0,
  window_fill: 1,
  window_size: 10,
  processing_ms: 1,
  dropped: 0,
  model_id: 'm',
  backend: label === null ? null : 'in_process',
  ...extra,
});

describe('Timeline', () => {
  it('keeps classified results of the last seconds, oldest first', () => {
    const timeline = new Timeline(2);
    timeline.add(result(null), 0); // a progress result while the window fills
    timeline.add(result('A'), 0);
    timeline.add(result('B'), 1500);
    expect(timeline.snapshot(1500).map((p) => p.label)).toEqual(['A', 'B']);
    expect(timeline.snapshot(2600).map((p) => p.label)).toEqual(['B']);
  });

  it('takes every window of a message that completed several', () => {
    const timeline = new Timeline(5);
    timeline.add(result('B', 0.9, { results: [result('A'), result('B')] }), 100);
    expect(timeline.snapshot(100).map((p) => p.label)).toEqual(['A', 'B']);
  });
});

describe('chartGeometry', () => {
  it('draws probability lines and merges equal labels into one band', () => {
    const points = [
      { t: 0, label: 'A', probabilities: { A: 1, B: 0 } },
      { t: 5000, label: 'A', probabilities: { A: 0.6, B: 0.4 } },
      { t: 7500, label: 'B', probabilities: { A: 0.2, B: 0.8 } },
    ];
    const { lines, bands } = chartGeometry(points, ['A', 'B'], 10_000, 10, 100, 50);
    expect(lines.map((l) => l.label)).toEqual(['A', 'B']);
    expect(lines[0].points).toBe('0.0,0.0 50.0,20.0 75.0,40.0');
    expect(bands).toEqual([
      { label: 'A', x: 0, width: 75 },
      { label: 'B', x: 75, width: 25 },
    ]);
  });

  it('orders classes as the model does, then labels seen later', () => {
    expect(timelineClasses(['B', 'A'], [{ t: 0, label: 'C', probabilities: null }])).toEqual(['B', 'A', 'C']);
    expect(classColor(0)).not.toBe(classColor(1));
  });
});
