// Web Bluetooth: connects to a GATT characteristic and writes the mapped bytes when the
// classification changes (after the debounce). Settings persist in localStorage.
import { useCallback, useEffect, useRef, useState } from 'react';
import { BLUETOOTH_WRITES_SHOWN, DEFAULT_BLUETOOTH_SETTINGS, STORAGE_KEYS, type BluetoothSettings } from '../config';
import type { AnalysisView } from '../lib/analysis';
import {
  LabelDebouncer,
  bytesForLabel,
  effectiveMapping,
  eventMappingKey,
  formatBytes,
  mappedEventKinds,
  normalizeUuid,
} from '../lib/bluetoothMapping';
import { loadSettings, saveSettings } from '../lib/storage';

export type BluetoothStatus = 'unsupported' | 'disconnected' | 'connecting' | 'connected';

export interface BluetoothWrite {
  at: number;
  label: string;
  hex: string;
  ok: boolean;
  error?: string;
}

export interface Bluetooth {
  supported: boolean;
  status: BluetoothStatus;
  deviceName: string | null;
  error: string | null;
  settings: BluetoothSettings;
  /** The mapping in force for the model's classes (the saved one plus the positive-class default). */
  mapping: Record<string, string>;
  writes: BluetoothWrite[];
  setSettings: (settings: BluetoothSettings) => void;
  connect: () => Promise<void>;
  disconnect: () => void;
}

function sanitize(settings: BluetoothSettings): BluetoothSettings {
  const mapping: Record<string, string> = {};
  for (const [label, text] of Object.entries(settings.mapping ?? {}))
    if (typeof text === 'string') mapping[label] = text;
  return { ...settings, mapping, debounceMs: Math.max(0, settings.debounceMs) };
}

/** Why this browser has no Web Bluetooth and what to do, for its user agent. */
export function missingBluetoothText(
  userAgent: string = typeof navigator === 'undefined' ? '' : navigator.userAgent,
  secure: boolean = typeof window === 'undefined' || window.isSecureContext !== false,
): string {
  if (!secure) return 'This page has no Web Bluetooth: it works only over https:// or on localhost.';
  if (/Linux/.test(userAgent) && !/Android|CrOS/.test(userAgent))
    return (
      'This browser has no Web Bluetooth. On desktop Linux, Chrome and Chromium have it only behind a flag: ' +
      'open chrome://flags/#enable-experimental-web-platform-features, set it to Enabled and relaunch the browser ' +
      '(BlueZ must be running with the adapter powered on). Firefox has no Web Bluetooth.'
    );
  return 'This browser has no Web Bluetooth: use Chrome or Edge on Windows, macOS, ChromeOS or Android, over https:// or on localhost.';
}

type ConnectStep = 'choose' | 'connect' | 'service' | 'characteristic';

/** What went wrong at `step` of connecting, in words that name the cause. */
function connectErrorText(exc: unknown, step: ConnectStep, adapter: boolean, service: string, characteristic: string) {
  const name = (exc as DOMException)?.name;
  const message = (exc as Error)?.message ?? String(exc);
  if (step === 'choose' && name === 'NotFoundError')
    return adapter
      ? 'No device was chosen.'
      : 'No Bluetooth adapter was found: turn Bluetooth on (or plug in an adapter) and try again.';
  if (step === 'service' && name === 'NotFoundError')
    return `The device has no service ${service}: check the Service UUID.`;
  if (step === 'characteristic' && name === 'NotFoundError')
    return `The device's service has no characteristic ${characteristic}: check the Characteristic UUID.`;
  return `Could not connect: ${message}`;
}

/** False when the browser says there is no Bluetooth adapter (Chrome: "Bluetooth adapter not
 * available"); true when it has one or cannot tell. */
async function adapterPresent(exc: unknown): Promise<boolean> {
  if (/adapter/i.test((exc as Error)?.message ?? '')) return false;
  try {
    return (await navigator.bluetooth.getAvailability?.()) !== false;
  } catch {
    return true;
  }
}

function hasBluetooth(): boolean {
  return typeof navigator !== 'undefined' && 'bluetooth' in navigator && Boolean(navigator.bluetooth);
}

/** Writes the bytes mapped to `label` when it changes, and those mapped to each analyzer event
 * of `analysis` as it arrives. */
export function useBluetooth(
  label: string | null,
  classes: readonly string[] | null,
  analysis: AnalysisView | null = null,
): Bluetooth {
  const supported = hasBluetooth();
  const [settings, setSettingsState] = useState<BluetoothSettings>(() =>
    sanitize(loadSettings(STORAGE_KEYS.bluetooth, DEFAULT_BLUETOOTH_SETTINGS)),
  );
  const [status, setStatus] = useState<BluetoothStatus>(supported ? 'disconnected' : 'unsupported');
  const [deviceName, setDeviceName] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [writes, setWrites] = useState<BluetoothWrite[]>([]);
  const device = useRef<BluetoothDevice | null>(null);
  const characteristic = useRef<BluetoothRemoteGATTCharacteristic | null>(null);
  const queue = useRef<Promise<void>>(Promise.resolve());
  const debouncer = useRef(new LabelDebouncer(settings.debounceMs));
  const mapping = effectiveMapping(settings.mapping, classes);
  const mappingRef = useRef(mapping);
  mappingRef.current = mapping;

  const setSettings = useCallback((next: BluetoothSettings) => {
    const clean = sanitize(next);
    setSettingsState(clean);
    saveSettings(STORAGE_KEYS.bluetooth, clean);
  }, []);

  useEffect(() => debouncer.current.setDebounce(settings.debounceMs), [settings.debounceMs]);

  const write = useCallback((writtenLabel: string) => {
    const target = characteristic.current;
    if (!target) return;
    let bytes: Uint8Array<ArrayBuffer> | null;
    try {
      bytes = bytesForLabel(mappingRef.current, writtenLabel);
    } catch (exc) {
      setError((exc as Error).message);
      return;
    }
    if (!bytes) return; // this label writes nothing
    const payload = bytes;
    // one GATT operation at a time: Chrome refuses overlapping ones
    queue.current = queue.current.then(async () => {
      const entry: BluetoothWrite = { at: Date.now(), label: writtenLabel, hex: formatBytes(payload), ok: true };
      try {
        if (target.properties.writeWithoutResponse) await target.writeValueWithoutResponse(payload);
        else await target.writeValueWithResponse(payload);
      } catch (exc) {
        entry.ok = false;
        entry.error = (exc as Error).message;
        setError(`Writing to the device failed: ${entry.error}`);
      }
      setWrites((old) => [entry, ...old].slice(0, BLUETOOTH_WRITES_SHOWN));
    });
  }, []);

  // a change of classification, once it has held for the debounce, is written
  useEffect(() => {
    if (status !== 'connected') return;
    const due = debouncer.current.observe(label, performance.now());
    if (due !== null) {
      write(due);
      return;
    }
    const delay = debouncer.current.pendingDelay(performance.now());
    if (delay === null) return;
    const timer = setTimeout(() => {
      const late = debouncer.current.poll(performance.now());
      if (late !== null) write(late);
    }, delay + 1);
    return () => clearTimeout(timer);
  }, [label, status, write]);

  // an analyzer event happens once: its bytes go as it arrives (no debounce)
  const eventsSeen = useRef(0);
  useEffect(() => {
    const count = analysis?.eventCount ?? 0;
    const fresh = Math.min(Math.max(0, count - eventsSeen.current), analysis?.events.length ?? 0);
    eventsSeen.current = count;
    if (status !== 'connected' || !analysis || fresh === 0) return;
    const arrived = analysis.events.slice(0, fresh).reverse();
    for (const kind of mappedEventKinds(mappingRef.current, arrived)) write(eventMappingKey(kind));
  }, [analysis, status, write]);

  const onDisconnected = useCallback(() => {
    characteristic.current = null;
    setStatus('disconnected');
    setError('The device disconnected. Connect again when it is back in range.');
  }, []);

  const disconnect = useCallback(() => {
    const current = device.current;
    device.current = null;
    characteristic.current = null;
    current?.removeEventListener('gattserverdisconnected', onDisconnected);
    current?.gatt?.disconnect();
    setStatus(hasBluetooth() ? 'disconnected' : 'unsupported');
    setDeviceName(null);
  }, [onDisconnected]);

  const connect = useCallback(async () => {
    if (!hasBluetooth()) {
      setError(missingBluetoothText());
      return;
    }
    setError(null);
    let serviceUuid: string;
    let characteristicUuid: string;
    try {
      serviceUuid = normalizeUuid(settings.serviceUuid);
      characteristicUuid = normalizeUuid(settings.characteristicUuid);
    } catch (exc) {
      setError((exc as Error).message);
      return;
    }
    setStatus('connecting');
    let step: ConnectStep = 'choose';
    try {
      const chosen = await navigator.bluetooth.requestDevice({
        acceptAllDevices: true,
        optionalServices: [serviceUuid],
      });
      step = 'connect';
      if (!chosen.gatt) throw new Error('the device has no GATT server');
      chosen.addEventListener('gattserverdisconnected', onDisconnected);
      const server = await chosen.gatt.connect();
      step = 'service';
      const service = await server.getPrimaryService(serviceUuid);
      step = 'characteristic';
      characteristic.current = await service.getCharacteristic(characteristicUuid);
      device.current = chosen;
      debouncer.current.reset();
      setDeviceName(chosen.name ?? chosen.id);
      setStatus('connected');
    } catch (exc) {
      const adapter = step === 'choose' ? await adapterPresent(exc) : true;
      setStatus('disconnected');
      setError(connectErrorText(exc, step, adapter, serviceUuid, characteristicUuid));
    }
  }, [settings.serviceUuid, settings.characteristicUuid, onDisconnected]);

  useEffect(() => () => device.current?.gatt?.disconnect(), []);

  return { supported, status, deviceName, error, settings, mapping, writes, setSettings, connect, disconnect };
}
