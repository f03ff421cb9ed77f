import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useBluetooth } from './useBluetooth';

const CLASSES = ['Arms Lowered', 'Arms Raised'];

/** A Web Bluetooth device that records what is written to it. */
function installDevice() {
  const writes: number[][] = [];
  const requests: unknown[] = [];
  const characteristic = {
    properties: { writeWithoutResponse: true },
    writeValueWithoutResponse: async (value: Uint8Array) => {
      writes.push(Array.from(value));
    },
  };
  const device = {
    id: 'dev',
    name: 'HMSoft',
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    gatt: {
      connect: async () => device.gatt,
      disconnect: () => undefined,
      getPrimaryService: async (uuid: string) => {
        requests.push(['service', uuid]);
        return { getCharacteristic: async (id: string) => (requests.push(['characteristic', id]), characteristic) };
      },
    },
  };
  Object.defineProperty(navigator, 'bluetooth', {
    configurable: true,
    value: { requestDevice: async (options: unknown) => (requests.push(['request', options]), device) },
  });
  return { writes, requests };
}

async function flush() {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(0);
  });
}

describe('useBluetooth', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    window.localStorage.clear();
  });
  afterEach(() => {
    vi.useRealTimers();
    delete (navigator as { bluetooth?: unknown }).bluetooth;
  });

  it('says Web Bluetooth is missing when the browser has none', async () => {
    const { result } = renderHook(() => useBluetooth('Arms Raised', CLASSES));
    expect(result.current.supported).toBe(false);
    expect(result.current.status).toBe('unsupported');
    await act(() => result.current.connect());
    expect(result.current.error).toMatch(/no Web Bluetooth/);
  });

  it('writes the mapped bytes once per change, after the debounce', async () => {
    const device = installDevice();
    const { result, rerender } = renderHook(({ label }) => useBluetooth(label, CLASSES), {
      initialProps: { label: 'Arms Lowered' as string | null },
    });
    act(() =>
      result.current.setSettings({ ...result.current.settings, debounceMs: 300, mapping: { 'Arms Lowered': 'b' } }),
    );
    await act(() => result.current.connect());
    expect(result.current.status).toBe('connected');
    expect(device.requests).toEqual([
      ['request', { acceptAllDevices: true, optionalServices: ['0000ffe0-0000-1000-8000-00805f9b34fb'] }],
      ['service', '0000ffe0-0000-1000-8000-00805f9b34fb'],
      ['characteristic', '0000ffe1-0000-1000-8000-00805f9b34fb'],
    ]);

    await act(() => vi.advanceTimersByTimeAsync(350));
    await flush();
    expect(device.writes).toEqual([[0x62]]); // the label at connection time, once it held

    rerender({ label: 'Arms Raised' }); // the positive class writes "a" by default
    await act(() => vi.advanceTimersByTimeAsync(100));
    rerender({ label: 'Arms Lowered' }); // a flicker shorter than the debounce
    await act(() => vi.advanceTimersByTimeAsync(400));
    await flush();
    expect(device.writes).toEqual([[0x62]]);

    rerender({ label: 'Arms Raised' });
    await act(() => vi.advanceTimersByTimeAsync(350));
    rerender({ label: null }); // a progress result writes nothing
    await act(() => vi.advanceTimersByTimeAsync(350));
    await flush();
    expect(device.writes).toEqual([[0x62], [0x61]]);
    expect(result.current.writes.map((w) => `${w.label}=${w.hex}`)).toEqual(['Arms Raised=61', 'Arms Lowered=62']);
  });

  it('keeps its settings in localStorage', () => {
    const { result } = renderHook(() => useBluetooth(null, CLASSES));
    act(() => result.current.setSettings({ ...result.current.settings, serviceUuid: 'ffe0', debounceMs: 1000 }));
    const saved = JSON.parse(window.localStorage.getItem('spml.bluetooth') as string);
    expect(saved).toMatchObject({ serviceUuid: 'ffe0', debounceMs: 1000 });
    const again = renderHook(() => useBluetooth(null, CLASSES));
    expect(again.result.current.settings.debounceMs).toBe(1000);
  });

  it('refuses a malformed UUID before asking for a device', async () => {
    const device = installDevice();
    const { result } = renderHook(() => useBluetooth(null, CLASSES));
    act(() => result.current.setSettings({ ...result.current.settings, characteristicUuid: 'serial port' }));
    await act(() => result.current.connect());
    expect(result.current.error).toMatch(/not a Bluetooth UUID/);
    expect(device.requests).toEqual([]);
  });
});
