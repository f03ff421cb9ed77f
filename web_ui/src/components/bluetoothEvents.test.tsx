// BluetoothPanel's rows for the analyzer's events: next to the labels, keyed apart from them.
import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BLUETOOTH_SETTINGS, type BluetoothSettings } from '../config';
import type { Bluetooth } from '../hooks/useBluetooth';
import { renderInContexts } from '../test/contexts';
import { BluetoothPanel } from './BluetoothPanel';

afterEach(cleanup);

function bluetooth(mapping: Record<string, string>, setSettings: (s: BluetoothSettings) => void): Partial<Bluetooth> {
  return {
    supported: true,
    status: 'disconnected',
    settings: { ...DEFAULT_BLUETOOTH_SETTINGS, mapping },
    mapping,
    setSettings,
  };
}

describe('BluetoothPanel with an analyzer', () => {
  it("offers the chosen analyzer's events and keeps mapped ones of another analyzer", () => {
    const setSettings = vi.fn();
    renderInContexts(<BluetoothPanel />, {
      bluetooth: bluetooth({ fall: 'L', 'event:repetition': 'r' }, setSettings),
      models: { classes: ['fall'] },
      live: { analyzer: 'falls', lastResult: null },
    });
    expect((screen.getByLabelText('Bytes for fall') as HTMLInputElement).value).toBe('L'); // the class
    expect((screen.getByLabelText('Bytes for event fall') as HTMLInputElement).value).toBe('');
    expect((screen.getByLabelText('Bytes for event repetition') as HTMLInputElement).value).toBe('r');
    expect(screen.queryByLabelText('Bytes for event:repetition')).toBeNull(); // not listed as a label
    fireEvent.change(screen.getByLabelText('Bytes for event fall'), { target: { value: '\\x07' } });
    expect(setSettings.mock.calls[0][0].mapping).toEqual({ fall: 'L', 'event:repetition': 'r', 'event:fall': '\\x07' });
  });

  it('shows no event rows without an analyzer', () => {
    renderInContexts(<BluetoothPanel />, {
      bluetooth: bluetooth({}, () => undefined),
      models: { classes: ['Arms Raised'] },
      live: { analyzer: null, lastResult: null },
    });
    expect(screen.queryByLabelText(/Bytes for event/)).toBeNull();
  });
});
