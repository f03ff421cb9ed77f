// AnalysisPanel fed the `analysis` bodies the live server sent for generated squats and falls
// (src/test/fixtures/analysis-*.json, recorded by scripts/record_analysis_fixtures.py).
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveContext } from '../context/LiveContext';
import { addAnalysis, type Analysis, type AnalysisView, type AnalyzerName } from '../lib/analysis';
import { liveValue } from '../test/contexts';
import fallBodies from '../test/fixtures/analysis-falls.json';
import squatBodies from '../test/fixtures/analysis-squat.json';
import { AnalysisPanel } from './AnalysisPanel';

afterEach(cleanup);

/** The panel with a live context whose analysis grows as `push` is given bodies (as useSocket does). */
function renderPanel(initial: AnalyzerName | null) {
  const control: { push: (body: Analysis) => void; analyzer: () => AnalyzerName | null } = {
    push: () => undefined,
    analyzer: () => initial,
  };
  function Harness() {
    const [analyzer, setAnalyzer] = useState<AnalyzerName | null>(initial);
    const [analysis, setAnalysis] = useState<AnalysisView | null>(null);
    control.push = (body) => setAnalysis((view) => addAnalysis(view, body));
    control.analyzer = () => analyzer;
    return (
      <LiveContext value={liveValue({ analyzer, setAnalyzer, analysis, updateAnalysis: setAnalysis })}>
        <AnalysisPanel />
      </LiveContext>
    );
  }
  render(<Harness />);
  return control;
}

const value = () => screen.getByTestId('analysis-value').textContent;
const events = () => screen.getByTestId('analysis-events');

describe('AnalysisPanel', () => {
  it('offers no analyzer at first and keeps the choice it is given', () => {
    const control = renderPanel(null);
    expect(screen.getByTestId('analysis-panel')).toBeTruthy();
    expect(screen.queryByTestId('analysis-value')).toBeNull();
    fireEvent.change(screen.getByLabelText('Analyzer'), { target: { value: 'gait' } });
    expect(control.analyzer()).toBe('gait');
    expect(value()).toBe('– steps/min');
    fireEvent.change(screen.getByLabelText('Analyzer'), { target: { value: '' } });
    expect(control.analyzer()).toBeNull();
  });

  it('counts squat repetitions and lists their form errors as they come', () => {
    const control = renderPanel('squat');
    const seen: string[] = [];
    for (const body of squatBodies as Analysis[]) {
      act(() => control.push(body));
      seen.push(value() ?? '');
    }
    expect(seen).toEqual(['0 repetitions', '1 repetition', '2 repetitions']);
    expect(screen.getByText('seen from the side')).toBeTruthy();
    const items = within(events()).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    // newest first: the second repetition leaned too far forward
    expect(items[0].textContent).toContain('Repetition 2 · knee 60°');
    expect(items[0].textContent).toContain('form: trunk lean 61.6');
    expect(items[1].textContent).toContain('Repetition 1 · knee 69°');
    expect(items[1].textContent).not.toContain('form:');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('raises a fall alarm with the probability, until it is acknowledged', () => {
    const control = renderPanel('falls');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getByRole('meter', { name: 'Fall probability' }).getAttribute('aria-valuenow')).toBe('0');
    const [first, gap, second] = fallBodies as Analysis[];
    act(() => control.push(first));
    expect(value()).toBe('1 fall');
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Fall detected at 2.0 s');
    expect(alert.className).toBe('analysis-alarm'); // the red band (AnalysisPanel.css)
    expect(screen.getByRole('meter', { name: 'Fall probability' }).getAttribute('aria-valuenow')).toBe('0.5923');
    fireEvent.click(within(alert).getByRole('button', { name: 'Acknowledge' }));
    expect(screen.queryByRole('alert')).toBeNull();
    act(() => control.push(gap)); // a pause in the frames is listed, and raises nothing
    expect(screen.queryByRole('alert')).toBeNull();
    expect(within(events()).getAllByRole('listitem')[0].textContent).toContain('gap');
    act(() => control.push(second));
    expect(value()).toBe('2 falls');
    expect(screen.getByRole('alert').textContent).toContain('at 35.3 s');
    expect(screen.getByRole('img', { name: /Fall probability over/ })).toBeTruthy();
    expect(
      within(events())
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['Fall 2 · p 0.55 (35.93 s)', 'gap (33.33 s)', 'Fall 1 · p 0.59 (2.50 s)']);
  });

  it("shows only the chosen analyzer's figures", () => {
    const control = renderPanel('squat');
    act(() => control.push((squatBodies as Analysis[])[1]));
    fireEvent.change(screen.getByLabelText('Analyzer'), { target: { value: 'falls' } });
    expect(value()).toBe('0 falls');
    expect(events().textContent).toBe('No events yet.');
  });
});
