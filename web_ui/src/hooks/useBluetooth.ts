// Web Bluetooth: connects to a GATT characteristic and writes the mapped bytes when the
// classification changes (after the debounce). Settings persist in localStorage.
import { useCallback, useEffect, useRef, useState } from 'react';
import { BLUETOOTH_WRITES_SHOWN, DEFAULT_BLUETOOTH_SETTINGS, STORAGE_KEYS, type BluetoothSettings } from '../config';
import { LabelDebouncer, bytesForLabel, effectiveMapping, formatBytes, normalizeUuid } from '../lib/bluetoothMapping';
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

function hasBluetooth(): boolean {
  return typeof navigator !== 'undefined' && 'bluetooth' in navigator && Boolean(navigator.bluetooth);
}

export function useBluetooth(label: string | null, classes: readonly string[] | null): Bluetooth {
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
      setError(
        'This browser has no Web Bluetooth: use Chrome or Edge on desktop or Android, over https:// or localhost.',
      );
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
    try {
      const chosen = await navigator.bluetooth.requestDevice({
        acceptAllDevices: true,
        optionalServices: [serviceUuid],
      });
      if (!chosen.gatt) throw new Error('the device has no GATT server');
      chosen.addEventListener('gattserverdisconnected', onDisconnected);
      const server = await chosen.gatt.connect();
      const service = await server.getPrimaryService(serviceUuid);
      characteristic.current = await service.getCharacteristic(characteristicUuid);
      device.current = chosen;
      debouncer.current.reset();
      setDeviceName(chosen.name ?? chosen.id);
      setStatus('connected');
    } catch (exc) {
      const name = (exc as DOMException).name;
      setStatus('disconnected');
      setError(
        name === 'NotFoundError'
          ? `No device was chosen, or it has no service ${serviceUuid} / characteristic ${characteristicUuid}.`
          : `Could not connect: ${(exc as Error).message}`,
      );
    }
  }, [settings.serviceUuid, settings.characteristicUuid, onDisconnected]);

  useEffect(() => () => device.current?.gatt?.disconnect(), []);

  return { supported, status, deviceName, error, settings, mapping, writes, setSettings, connect, disconnect };
}
