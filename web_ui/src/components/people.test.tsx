// Several people in the live page: the People and Classify settings, the people over the video,
// and "Person #N" in the results.
import { cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addAnalysis } from '../lib/analysis';
import type { FrameResult } from '../lib/payload';
import { MAX_PEOPLE, personColor } from '../lib/people';
import { renderInContexts } from '../test/contexts';
import { AnalysisPanel } from './AnalysisPanel';
import { ClassificationPanel } from './ClassificationPanel';
import { PoseOverlay } from './PoseOverlay';
import { PoseSettingsForm } from './PoseSettingsForm';

afterEach(cleanup);

const optionTexts = (select: HTMLElement) =>
  within(select)
    .getAllByRole('option')
    .map((o) => o.textContent);

describe('People and Classify', () => {
  it('offers 1..MAX_PEOPLE people and stores the choice through the live settings', () => {
    const setNumPoses = vi.fn();
    renderInContexts(<PoseSettingsForm />, { live: { numPoses: 1, setNumPoses } });
    const people = screen.getByLabelText('People') as HTMLSelectElement;
    expect(optionTexts(people)).toEqual(Array.from({ length: MAX_PEOPLE }, (_, i) => String(i + 1)));
    expect(people.value).toBe('1');
    fireEvent.change(people, { target: { value: '2' } });
    expect(setNumPoses).toHaveBeenCalledWith(2);
    expect((screen.getByLabelText('Classify') as HTMLSelectElement).disabled).toBe(true); // one person: nothing to choose
  });

  it('lists Auto and the tracks alive; a choice is sent as the subject, Auto as null', () => {
    const chooseSubject = vi.fn();
    renderInContexts(<PoseSettingsForm />, { live: { numPoses: 2, tracks: [3, 1], subject: null, chooseSubject } });
    const classify = screen.getByLabelText('Classify') as HTMLSelectElement;
    expect(classify.disabled).toBe(false);
    expect(optionTexts(classify)).toEqual(['Auto (largest)', 'Person #1', 'Person #3']);
    expect(classify.value).toBe('');
    fireEvent.change(classify, { target: { value: '3' } });
    expect(chooseSubject).toHaveBeenLastCalledWith(3);
    fireEvent.change(classify, { target: { value: '' } });
    expect(chooseSubject).toHaveBeenLastCalledWith(null);
    expect(screen.getByText(/tracks up to 2 people and classifies one/)).toBeTruthy();
  });

  it('keeps showing the chosen person while it is out of view', () => {
    renderInContexts(<PoseSettingsForm />, { live: { numPoses: 2, tracks: [1], subject: 4 } });
    const classify = screen.getByLabelText('Classify') as HTMLSelectElement;
    expect(optionTexts(classify)).toEqual(['Auto (largest)', 'Person #1', 'Person #4 (not in view)']);
    expect(classify.value).toBe('4');
  });
});

describe('the people over the video', () => {
  const people = { trackIds: [2, 5], subject: 5, tentative: 1 };

  it('names each person tracked in its colour, the classified one, and those not tracked yet', () => {
    renderInContexts(<PoseOverlay />, { live: { numPoses: 2 }, pose: { people } });
    const legend = screen.getByRole('list', { name: 'People in view' });
    const items = within(legend).getAllByRole('listitem');
    expect(items.map((li) => li.textContent)).toEqual(['#2', '#5 classified', '+1 not tracked yet']);
    expect(items[0].style.color).toBe(hexToRgb(personColor(2)));
    expect(items[1].getAttribute('data-track-id')).toBe('5');
  });

  it('shows no legend for one person, or while the source is off', () => {
    renderInContexts(<PoseOverlay />, { live: { numPoses: 1 }, pose: { people } });
    expect(screen.queryByRole('list', { name: 'People in view' })).toBeNull();
    cleanup();
    renderInContexts(<PoseOverlay />, { live: { numPoses: 2 }, pose: { people }, source: { running: false } });
    expect(screen.queryByRole('list', { name: 'People in view' })).toBeNull();
  });
});

describe('Person #N in the results', () => {
  const result: FrameResult = {
    label: 'Arms Raised',
    classification: 'Arms Raised',
    probabilities: null,
    frame_id: 9,
    timestamp: 1,
    window_fill: 1,
    window_size: 1,
    processing_ms: 2,
    dropped: 0,
    model_id: 'm',
    backend: 'in_process',
  };

  it('names the person classified, and nobody for one person (no track_id)', () => {
    renderInContexts(<ClassificationPanel />, { live: { lastResult: { ...result, track_id: 3 } } });
    expect(screen.getByLabelText('Classified person').textContent).toBe('Person #3');
    cleanup();
    renderInContexts(<ClassificationPanel />, { live: { lastResult: { ...result, track_id: null } } });
    expect(screen.queryByLabelText('Classified person')).toBeNull();
    cleanup();
    renderInContexts(<ClassificationPanel />, { live: { lastResult: result } });
    expect(screen.queryByLabelText('Classified person')).toBeNull();
  });

  it('names the person analyzed, from the newest analysis', () => {
    const body = { analyzer: 'gait', frame_id: 3, events: [], summary: {} };
    const analysis = addAnalysis(addAnalysis(null, { ...body, track_id: 1 }), { ...body, track_id: 2 });
    renderInContexts(<AnalysisPanel />, { live: { analyzer: 'gait', analysis } });
    expect(screen.getByLabelText('Analyzed person').textContent).toBe('Person #2');
    cleanup();
    renderInContexts(<AnalysisPanel />, { live: { analyzer: 'gait', analysis: addAnalysis(null, body) } });
    expect(screen.queryByLabelText('Analyzed person')).toBeNull();
  });
});

function hexToRgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}
