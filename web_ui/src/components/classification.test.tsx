// The results area: the result first and the diagnostics folded under it, the window in the
// upload form's terms, no result over no video, and a timeline that survives a model switch.
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_POSE_SETTINGS, DEFAULT_SOURCE_SETTINGS } from '../config';
import type { Live } from '../context/LiveContext';
import type { Source } from '../context/SourceContext';
import { EMPTY_POSE_STATS } from '../hooks/usePose';
import { CLASS_COLORS, type TimelinePoint } from '../lib/timeline';
import type { FrameResult } from '../lib/payload';
import { renderInContexts } from '../test/contexts';
import { windowTerms } from '../lib/windowTerms';
import { ClassificationPanel } from './ClassificationPanel';
import { TimelineChart } from './TimelineChart';

afterEach(cleanup);

const raised: FrameResult = {
  label: 'Arms Raised',
  classification: 'Arms Raised',
  probabilities: { 'Arms Lowered': 0.25, 'Arms Raised': 0.75 },
  frame_id: 9,
  timestamp: 1,
  window_fill: 1,
  window_size: 5,
  processing_ms: 2,
  dropped: 1,
  model_id: 'm',
  backend: 'in_process',
};
const poseStats = { ...EMPTY_POSE_STATS, fps: 24.4, inferenceMs: 38, mainThreadMs: 1.5, skipped: 7, longTasks: 2 };

function renderPanel(live: Partial<Live> = {}, source: Partial<Source> = {}) {
  return renderInContexts(<ClassificationPanel />, {
    live: { lastResult: raised, ...live },
    models: { classes: ['Arms Lowered', 'Arms Raised'], sessionModelId: 'm' },
    pose: {
      settings: DEFAULT_POSE_SETTINGS,
      pose: { status: 'ready', error: null, loadMs: 1, stats: poseStats },
    },
    source,
  });
}

describe('ClassificationPanel', () => {
  it('shows the result first and folds the twelve-odd diagnostic tiles into a closed "Diagnostics"', () => {
    renderPanel();
    const label = screen.getByRole('status', { name: 'Current label' });
    const details = screen.getByText('Diagnostics').closest('details') as HTMLDetailsElement;
    expect(details.open).toBe(false);
    expect(label.compareDocumentPosition(details) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    const tiles = within(details).getByLabelText('Live statistics');
    expect(tiles.querySelectorAll('[data-stat]').length).toBe(13);
    expect(label.closest('details')).toBeNull();
  });

  it('explains what "Dropped by the server" counts, under the number', () => {
    renderPanel();
    const tile = screen.getByText('Dropped by the server').parentElement as HTMLElement;
    expect(within(tile).getByText(/skipped to answer newer ones/)).toBeTruthy();
    expect(tile.getAttribute('title')).toMatch(/skipped to answer newer ones/);
  });

  it('shows no pose figures while images are sent (the server runs pose): none keep their last values', () => {
    renderPanel({}, { settings: { ...DEFAULT_SOURCE_SETTINGS, sendMode: 'images' } });
    for (const stat of ['pose-fps', 'inference', 'main-thread', 'long-tasks', 'skipped'])
      expect(document.querySelector(`[data-stat="${stat}"]`)?.textContent).toBe('–');
    expect(screen.getByText('Images sent')).toBeTruthy();
  });

  it('shows no pose figures while there is no video (paused, or no file chosen)', () => {
    renderPanel({}, { running: false });
    for (const stat of ['pose-fps', 'inference', 'main-thread', 'long-tasks', 'skipped'])
      expect(document.querySelector(`[data-stat="${stat}"]`)?.textContent).toBe('–');
    cleanup();
    renderPanel();
    expect(document.querySelector('[data-stat="inference"]')?.textContent).toBe('38.0 ms');
    expect(document.querySelector('[data-stat="skipped"]')?.textContent).toBe('7');
  });

  it('says window and overlap, as the upload form does, and names the model', () => {
    renderPanel({ session: { model_id: 'm', window_size: 5, stride: 2, window_fill: 1 } });
    const window = screen.getByLabelText('Session window').textContent ?? '';
    expect(window).toBe('Model m · Window: 5 frames, overlap 3 frames (a result every 2 frames)');
    expect(window).not.toMatch(/stride/);
    expect(windowTerms(30, 1)).toBe('30 frames, overlap 29 frames (a result every frame)');
    expect(windowTerms(1, 3)).toBe('1 frame, overlap 0 frames (a result every 3 frames)');
    expect(windowTerms(null, null)).toBe('–');
  });

  it('shows no label while there is no video: not started, or no file chosen', () => {
    renderPanel({}, { running: false });
    expect(screen.getByRole('status', { name: 'Current label' }).textContent).toBe('press Start to turn on the camera');
    cleanup();
    renderPanel({}, { kind: 'file', file: null, imageSize: null });
    expect(screen.getByRole('status', { name: 'Current label' }).textContent).toBe('choose a video file');
    expect(screen.queryByText('Arms Raised', { selector: '.current-label' })).toBeNull();
  });
});

describe('TimelineChart', () => {
  it("after a model switch keeps the earlier model's labels: lines, colours and legend, no black band", () => {
    const now = Date.now();
    const points: TimelinePoint[] = [
      { t: now - 4000, label: 'Arms Raised', probabilities: { 'Arms Lowered': 0.2, 'Arms Raised': 0.8 } },
      { t: now - 3000, label: 'Arms Lowered', probabilities: { 'Arms Lowered': 0.7, 'Arms Raised': 0.3 } },
      { t: now - 1000, label: 'Standing', probabilities: { Standing: 0.9, Sitting: 0.1 } },
    ];
    const { container } = render(<TimelineChart points={points} classes={['Sitting', 'Standing']} seconds={20} />);
    const legend = container.querySelector('figcaption') as HTMLElement;
    for (const name of ['Sitting', 'Standing', 'Arms Lowered', 'Arms Raised'])
      expect(within(legend).getByText(name)).toBeTruthy();
    expect(container.querySelectorAll('polyline').length).toBe(4);
    const bands = [...container.querySelectorAll('rect[fill]')].map((rect) => rect.getAttribute('fill'));
    expect(bands).toHaveLength(3);
    expect(bands).not.toContain(CLASS_COLORS[CLASS_COLORS.length - 1]); // the black of index -1
    expect(new Set(bands).size).toBe(3);
  });
});
