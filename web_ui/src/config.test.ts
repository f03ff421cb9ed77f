import { describe, expect, it } from 'vitest';
import {
  DEFAULT_API_URL,
  DEFAULT_BLUETOOTH_SETTINGS,
  normalizeApiUrl,
  poseModelUrl,
  resolveApiUrl,
  wasmBaseUrl,
} from './config';

describe('API URL', () => {
  it('takes ?api= first, then the saved override, then VITE_API_URL, then the default', () => {
    expect(
      resolveApiUrl({ search: '?api=http://10.0.0.2:5001/', stored: 'http://saved:1', buildTime: 'http://built:2' }),
    ).toBe('http://10.0.0.2:5001');
    expect(resolveApiUrl({ search: '', stored: 'http://saved:1', buildTime: 'http://built:2' })).toBe('http://saved:1');
    expect(resolveApiUrl({ search: '', stored: null, buildTime: 'https://built.example/api/' })).toBe(
      'https://built.example/api',
    );
    expect(resolveApiUrl({ search: '?api=javascript:alert(1)', stored: 'not a url', buildTime: '' })).toBe(
      DEFAULT_API_URL,
    );
    expect(DEFAULT_API_URL).toBe('http://localhost:5001');
  });

  it('accepts only http(s) URLs', () => {
    expect(normalizeApiUrl(' http://localhost:5001 ')).toBe('http://localhost:5001');
    expect(normalizeApiUrl('ftp://x')).toBeNull();
    expect(normalizeApiUrl('localhost:5001')).toBeNull();
  });
});

describe('assets and defaults', () => {
  it('serves the pose models and WASM from this app, never a CDN', () => {
    expect(poseModelUrl('heavy', '/')).toBe(`${window.location.origin}/models/pose_landmarker_heavy.task`);
    expect(wasmBaseUrl('/ui/')).toBe(`${window.location.origin}/ui/wasm`);
  });

  it('defaults to the HM-10 serial service and characteristic', () => {
    expect(DEFAULT_BLUETOOTH_SETTINGS.serviceUuid).toBe('0000ffe0-0000-1000-8000-00805f9b34fb');
    expect(DEFAULT_BLUETOOTH_SETTINGS.characteristicUuid).toBe('0000ffe1-0000-1000-8000-00805f9b34fb');
  });
});
