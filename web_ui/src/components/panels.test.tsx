import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bluetooth } from '../hooks/useBluetooth';
import type { PoseStats } from '../hooks/usePose';
import type { LiveStats } from '../lib/liveStats';
import {
  DEFAULT_BLUETOOTH_SETTINGS,
  DEFAULT_POSE_SETTINGS,
  DEFAULT_SOURCE_SETTINGS,
  type SourceSettings,
} from '../config';
import type { Live } from '../context/LiveContext';
import { renderInContexts } from '../test/contexts';
import { BluetoothPanel } from './BluetoothPanel';
import { ClassificationPanel } from './ClassificationPanel';
import { ModelUpload } from './ModelUpload';
import { SourcePicker } from './SourcePicker';

afterEach(cleanup);

const liveStats: LiveStats = {
  framesSent: 120,
  imagesSent: 0,
  messagesSent: 60,
  notSent: 3,
  latencyMs: 12.34,
  processingMs: 2.5,
  dropped: 1,
  resultsPerSecond: 6,
  errors: 0,
};
const pose: PoseStats = {
  fps: 24.4,
  inferenceMs: 38,
  mainThreadMs: 1.5,
  longTasks: 0,
  skipped: 7,
  frames: 130,
  failures: 0,
  lastFailure: null,
};
const poseView = { status: 'ready' as const, error: null, loadMs: 900, stats: pose };

describe('ClassificationPanel', () => {
  // the live results, the model's classes, pose statistics; keypoints are sent
  const renderPanel = (live: Partial<Live>) =>
    renderInContexts(<ClassificationPanel />, {
      live: { stats: liveStats, session: null, lastError: null, overlap: null, connected: true, ...live },
      models: { classes: ['Arms Lowered', 'Arms Raised'] },
      pose: { settings: DEFAULT_POSE_SETTINGS, setSettings: () => undefined, pose: poseView },
    });

  it('shows the label, the class probabilities and the live numbers', () => {
    renderPanel({
      lastResult: {
        label: 'Arms Raised',
        classification: 'Arms Raised',
        probabilities: { 'Arms Lowered': 0.25, 'Arms Raised': 0.75 },
        frame_id: 9,
        timestamp: 1,
        window_fill: 1,
        window_size: 1,
        processing_ms: 2,
        dropped: 1,
        model_id: 'm',
        backend: 'in_process',
      },
    });
    expect(screen.getByRole('status', { name: 'Current label' }).textContent).toBe('Arms Raised');
    expect(screen.getByRole('meter', { name: 'Arms Raised probability' }).getAttribute('aria-valuenow')).toBe('0.75');
    const stats = within(screen.getByLabelText('Live statistics'));
    expect(stats.getByText('24.4')).toBeTruthy();
    expect(stats.getByText('12.3 ms')).toBeTruthy();
    expect(stats.getByText('120')).toBeTruthy();
    expect(stats.getByText('Messages sent').nextElementSibling?.textContent).toBe('60');
    expect(screen.getByRole('img', { name: 'Classification timeline, last 20 seconds' })).toBeTruthy();
  });

  it('says when the window is still filling, and shows a server error', () => {
    renderPanel({
      lastResult: {
        label: null,
        classification: null,
        probabilities: null,
        frame_id: 3,
        timestamp: 1,
        window_fill: 0.4,
        window_size: 10,
        processing_ms: 1,
        dropped: 0,
        model_id: 'm',
        backend: null,
      },
      lastError: { code: 'no_model', message: 'upload a model first', at: Date.now() },
    });
    expect(screen.getByRole('status', { name: 'Current label' }).textContent).toBe('filling the window… 40 %');
    expect(screen.getByRole('alert').textContent).toContain('upload a model first (no_model)');
  });

  it("says when the server sheds this session's frames", () => {
    const warning = { code: 'behind' as const, message: 'm', lag_ms: 412, frames_shed: 30 };
    renderPanel({ lastResult: null, lastWarning: { ...warning, at: Date.now() } });
    const status = screen.getByRole('status', { name: 'Server warning' });
    expect(status.textContent).toContain('skipped 30 frames');
    expect(status.textContent).toContain('412 ms');
  });

  it('forgets an old warning', () => {
    const warning = { code: 'behind' as const, message: 'm', lag_ms: 412, frames_shed: 30 };
    renderPanel({ lastResult: null, lastWarning: { ...warning, at: Date.now() - 60_000 } });
    expect(screen.queryByRole('status', { name: 'Server warning' })).toBeNull();
  });

  it('applies a session overlap', () => {
    const applied: (number | null)[] = [];
    renderPanel({ lastResult: null, setOverlap: (v) => applied.push(v) });
    fireEvent.change(screen.getByLabelText('Overlap (frames)'), { target: { value: '5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Apply to this session' }));
    expect(applied).toEqual([5]);
  });
});

describe('SourcePicker', () => {
  it('sends keypoints in binary batches unless JSON is ticked', () => {
    const patches: Partial<SourceSettings>[] = [];
    const view = renderInContexts(<SourcePicker />, {
      source: { settings: DEFAULT_SOURCE_SETTINGS, setSettings: (patch) => patches.push(patch) },
    });
    const json = screen.getByLabelText('Send keypoints as JSON, one message per frame') as HTMLInputElement;
    expect(json.checked).toBe(false);
    expect(screen.getByText(/in binary messages that hold the frames up to the next window/)).toBeTruthy();
    fireEvent.click(json);
    expect(patches).toEqual([{ keypointsFormat: 'json' }]);
    view.unmount();
    renderInContexts(<SourcePicker />, {
      source: { settings: { ...DEFAULT_SOURCE_SETTINGS, sendMode: 'images' } },
    });
    expect(screen.queryByLabelText('Send keypoints as JSON, one message per frame')).toBeNull();
  });
});

describe('BluetoothPanel', () => {
  const bluetooth = (patch: Partial<Bluetooth> = {}): Bluetooth => ({
    supported: true,
    status: 'disconnected',
    deviceName: null,
    error: null,
    settings: DEFAULT_BLUETOOTH_SETTINGS,
    mapping: { 'Arms Raised': 'a', 'Arms Lowered': '\\xZZ' },
    writes: [],
    setSettings: () => undefined,
    connect: async () => undefined,
    disconnect: () => undefined,
    ...patch,
  });

  it('previews the bytes of each label and flags a bad escape', () => {
    renderInContexts(<BluetoothPanel />, {
      bluetooth: bluetooth(),
      models: { classes: ['Arms Lowered', 'Arms Raised'] },
      live: { lastResult: null },
    });
    expect((screen.getByLabelText('Bytes for Arms Raised') as HTMLInputElement).value).toBe('a');
    expect(screen.getByText('61')).toBeTruthy();
    expect(screen.getByLabelText('Bytes for Arms Lowered').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText('Service UUID')).toBeTruthy();
  });

  it('explains a browser without Web Bluetooth', () => {
    renderInContexts(<BluetoothPanel />, {
      bluetooth: bluetooth({ supported: false, status: 'unsupported' }),
      models: { classes: [] },
      live: { lastResult: null },
    });
    expect(screen.getByRole('alert').textContent).toMatch(/no Web Bluetooth/);
    expect((screen.getByRole('button', { name: 'Connect a device' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('ModelUpload', () => {
  it('sends the file with the window settings given', async () => {
    const calls: unknown[] = [];
    render(<ModelUpload busy={false} onUpload={async (file, settings) => (calls.push([file.name, settings]), true)} />);
    const upload = screen.getByRole('button', { name: 'Upload model' }) as HTMLButtonElement;
    expect(upload.disabled).toBe(true);
    fireEvent.change(screen.getByLabelText('Model file'), { target: { files: [new File(['x'], 'model.zip')] } });
    fireEvent.change(screen.getByLabelText('Window size (frames)'), { target: { value: '30' } });
    fireEvent.click(upload);
    await screen.findByRole('button', { name: 'Upload model' });
    expect(calls).toEqual([['model.zip', { windowSize: 30, overlap: null }]]);
  });
});
