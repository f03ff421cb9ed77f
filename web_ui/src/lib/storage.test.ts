import { describe, expect, it } from 'vitest';
import { loadSettings, mergeSaved, saveSettings } from './storage';

const defaults = { model: 'full', maxFps: 30, smoothing: 'off', mapping: {} as Record<string, string> };

describe('saved settings', () => {
  it('keeps only known keys of the right type', () => {
    expect(mergeSaved(defaults, { model: 'lite', maxFps: 'fast', extra: 1, mapping: { A: 'a' } })).toEqual({
      model: 'lite',
      maxFps: 30,
      smoothing: 'off',
      mapping: { A: 'a' },
    });
    expect(mergeSaved(defaults, [1, 2])).toEqual(defaults);
    expect(mergeSaved(defaults, { maxFps: Number.NaN })).toEqual(defaults);
  });

  it('round-trips through localStorage and survives a corrupt entry', () => {
    saveSettings('test.settings', { ...defaults, maxFps: 12 });
    expect(loadSettings('test.settings', defaults).maxFps).toBe(12);
    window.localStorage.setItem('test.settings', '{not json');
    expect(loadSettings('test.settings', defaults)).toEqual(defaults);
  });
});
