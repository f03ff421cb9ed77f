import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addAnalysis, type Analysis, type AnalysisView } from '../lib/analysis';
import fallBodies from '../test/fixtures/analysis-falls.json';
import { missingBluetoothText, useBluetooth } from './useBluetooth';

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

  it('writes the bytes mapped to an analyzer event as each one arrives, none for unmapped kinds', async () => {
    const device = installDevice();
    const [fall, gap, again] = fallBodies as Analysis[];
    const first = addAnalysis(null, fall);
    const { result, rerender } = renderHook(({ analysis }) => useBluetooth(null, CLASSES, analysis), {
      initialProps: { analysis: first as AnalysisView | null },
    });
    act(() => result.current.setSettings({ ...result.current.settings, mapping: { 'event:fall': 'F\\n' } }));
    await act(() => result.current.connect());
    await flush();
    expect(device.writes).toEqual([]); // a fall before the device was connected is not written late
    const afterGap = addAnalysis(first, gap);
    rerender({ analysis: afterGap });
    await flush();
    expect(device.writes).toEqual([]); // a gap is not mapped
    rerender({ analysis: addAnalysis(afterGap, again) });
    await flush();
    expect(device.writes).toEqual([[0x46, 0x0a]]);
    expect(result.current.writes.map((w) => `${w.label}=${w.hex}`)).toEqual(['event:fall=46 0a']);
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

  /** navigator.bluetooth whose requestDevice fails as Chrome's does. */
  const refuse = (name: string, message: string, available: boolean) =>
    Object.defineProperty(navigator, 'bluetooth', {
      configurable: true,
      value: {
        getAvailability: async () => available,
        requestDevice: async () => {
          throw new DOMException(message, name);
        },
      },
    });

  it('says no adapter was found when there is none, not that the UUIDs are wrong', async () => {
    refuse('NotFoundError', 'Bluetooth adapter not available.', false);
    const { result } = renderHook(() => useBluetooth(null, CLASSES));
    await act(() => result.current.connect());
    expect(result.current.error).toMatch(/^No Bluetooth adapter was found/);
    expect(result.current.error).not.toMatch(/UUID|service/);
    expect(result.current.status).toBe('disconnected');
  });

  it('says no device was chosen when the chooser was closed', async () => {
    refuse('NotFoundError', 'User cancelled the requestDevice() chooser.', true);
    const { result } = renderHook(() => useBluetooth(null, CLASSES));
    await act(() => result.current.connect());
    expect(result.current.error).toBe('No device was chosen.');
  });

  it('names the service UUID when the device has no such service', async () => {
    installDevice();
    const bluetooth = navigator.bluetooth as unknown as { requestDevice: () => Promise<BluetoothDevice> };
    const device = await bluetooth.requestDevice();
    (device.gatt as unknown as { getPrimaryService: () => Promise<never> }).getPrimaryService = async () => {
      throw new DOMException('No Services matching UUID found in Device.', 'NotFoundError');
    };
    const { result } = renderHook(() => useBluetooth(null, CLASSES));
    await act(() => result.current.connect());
    expect(result.current.error).toBe(
      'The device has no service 0000ffe0-0000-1000-8000-00805f9b34fb: check the Service UUID.',
    );
  });

  it('tells desktop Linux users the Chrome flag that turns Web Bluetooth on', () => {
    const linux = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
    expect(missingBluetoothText(linux, true)).toMatch(/chrome:\/\/flags\/#enable-experimental-web-platform-features/);
    const android = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36';
    expect(missingBluetoothText(android, true)).not.toMatch(/flags/);
    expect(missingBluetoothText('Mozilla/5.0 (Macintosh) Firefox/130.0', true)).toMatch(/use Chrome or Edge/);
    expect(missingBluetoothText(linux, false)).toMatch(/https:\/\/ or on localhost/);
  });
});
