import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Timeline } from '../lib/jobs';
import { AnalysisTimeline } from './AnalysisTimeline';
import { EventsTable } from './EventsTable';

afterEach(cleanup);

const TIMELINE: Timeline = {
  fps: 30,
  duration_s: 4,
  frames: 120,
  series: [{ key: 'gait.cadence', label: 'Cadence', unit: 'steps/min', t: [0, 1, 2], v: [100, null, 110] }],
  labels: [{ start_s: 0, end_s: 1, label: 'Walking' }],
  events: [
    {
      analyzer: 'gait',
      kind: 'contact',
      start_s: 1.5,
      end_s: 1.6,
      frame_start: 45,
      frame_end: 48,
      text: 'left heel strike',
      errors: ['late'],
      values: {},
    },
  ],
};

describe('AnalysisTimeline', () => {
  it('seeks to the clicked time and draws the cursor at currentTime', () => {
    const seeks: number[] = [];
    render(<AnalysisTimeline timeline={TIMELINE} currentTime={2} onSeek={(t) => seeks.push(t)} />);
    const svg = screen.getByTestId('job-timeline');
    svg.getBoundingClientRect = () => ({ left: 0, top: 0, width: 400, height: 84, right: 400, bottom: 84 }) as DOMRect;
    fireEvent.click(svg, { clientX: 300 });
    expect(seeks[0]).toBeCloseTo(3);
    expect(screen.getByTestId('timeline-cursor').getAttribute('x1')).toBe('400');
    expect(svg.querySelector('polyline')?.getAttribute('points')?.split(' ')).toHaveLength(2);
  });
});

describe('EventsTable', () => {
  it('lists events and seeks on a row click', () => {
    const seeks: number[] = [];
    render(<EventsTable events={TIMELINE.events} onSeek={(t) => seeks.push(t)} />);
    const row = within(screen.getByTestId('events-table')).getByText('left heel strike').closest('tr')!;
    expect(row.textContent).toContain('45–48');
    expect(row.textContent).toContain('late');
    fireEvent.click(row);
    expect(seeks).toEqual([1.5]);
  });
  it('says when there are none', () => {
    render(<EventsTable events={[]} onSeek={() => undefined} />);
    expect(screen.getByTestId('events-table').textContent).toMatch(/No events/);
  });
});
