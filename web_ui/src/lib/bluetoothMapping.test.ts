import { describe, expect, it } from 'vitest';
import {
  ByteTextError,
  LabelDebouncer,
  bytesForLabel,
  effectiveMapping,
  eventKindOfKey,
  eventMappingKey,
  formatBytes,
  mappedEventKinds,
  normalizeUuid,
  parseByteText,
  positiveClass,
} from './bluetoothMapping';

describe('parseByteText', () => {
  it('encodes text as UTF-8 with escapes', () => {
    expect(Array.from(parseByteText('a'))).toEqual([0x61]);
    expect(Array.from(parseByteText('ab\\n'))).toEqual([0x61, 0x62, 0x0a]);
    expect(Array.from(parseByteText('\\x01\\xFF\\0\\\\'))).toEqual([0x01, 0xff, 0x00, 0x5c]);
    expect(Array.from(parseByteText('é'))).toEqual([0xc3, 0xa9]);
    expect(Array.from(parseByteText('🙂'))).toEqual([0xf0, 0x9f, 0x99, 0x82]);
    expect(parseByteText('').length).toBe(0);
  });

  it('names a bad escape', () => {
    expect(() => parseByteText('\\xZZ')).toThrow(ByteTextError);
    expect(() => parseByteText('a\\q')).toThrow(/bad escape "\\q"/);
    expect(() => parseByteText('trailing\\')).toThrow(ByteTextError);
  });

  it('formats bytes as hex', () => {
    expect(formatBytes(Uint8Array.from([0x61, 0x0a, 0xff]))).toBe('61 0a ff');
  });
});

describe('positive class and default mapping', () => {
  it('is the original study positive label, or a binary model second class', () => {
    expect(positiveClass(['Failure Weight Transfer', 'Successful Weight Transfer'])).toBe('Successful Weight Transfer');
    expect(positiveClass(['Arms Raised', 'Arms Lowered'])).toBe('Arms Raised');
    expect(positiveClass(['0', '1'])).toBe('1');
    expect(positiveClass(['Walking', 'Standing', 'Jumping'])).toBeNull();
    expect(positiveClass(null)).toBeNull();
  });

  it('writes "a" for the positive class unless the saved mapping says otherwise', () => {
    expect(effectiveMapping({}, ['Arms Lowered', 'Arms Raised'])).toEqual({ 'Arms Raised': 'a' });
    expect(effectiveMapping({ 'Arms Raised': '' }, ['Arms Lowered', 'Arms Raised'])).toEqual({ 'Arms Raised': '' });
    expect(effectiveMapping({ 'Arms Lowered': 'b' }, ['Arms Lowered', 'Arms Raised'])).toEqual({
      'Arms Lowered': 'b',
      'Arms Raised': 'a',
    });
  });

  it('maps labels to bytes; an unmapped or empty label writes nothing', () => {
    const mapping = { 'Arms Raised': 'a', 'Arms Lowered': '' };
    expect(Array.from(bytesForLabel(mapping, 'Arms Raised') ?? [])).toEqual([0x61]);
    expect(bytesForLabel(mapping, 'Arms Lowered')).toBeNull();
    expect(bytesForLabel(mapping, 'Walking')).toBeNull();
  });
});

describe('LabelDebouncer', () => {
  it('writes a new label once it has held for the debounce', () => {
    const debouncer = new LabelDebouncer(500);
    expect(debouncer.observe('A', 0)).toBeNull();
    expect(debouncer.pendingDelay(100)).toBe(400);
    expect(debouncer.observe('A', 300)).toBeNull();
    expect(debouncer.observe('A', 500)).toBe('A');
    expect(debouncer.observe('A', 900)).toBeNull(); // written once per change
    expect(debouncer.pendingDelay(900)).toBeNull();
  });

  it('ignores a flicker shorter than the debounce', () => {
    const debouncer = new LabelDebouncer(500);
    debouncer.observe('A', 0);
    expect(debouncer.poll(600)).toBe('A');
    expect(debouncer.observe('B', 700)).toBeNull();
    expect(debouncer.observe('A', 900)).toBeNull(); // back before B held: nothing to write
    expect(debouncer.poll(2000)).toBeNull();
    expect(debouncer.observe('B', 2100)).toBeNull();
    expect(debouncer.poll(2600)).toBe('B');
  });

  it('writes every change at once with a zero debounce, and ignores missing labels', () => {
    const debouncer = new LabelDebouncer(0);
    expect(debouncer.observe(null, 0)).toBeNull();
    expect(debouncer.observe('A', 1)).toBe('A');
    expect(debouncer.observe('B', 2)).toBe('B');
    expect(debouncer.observe('A', 3)).toBe('A');
  });

  it('starts over after reset (a new device connection)', () => {
    const debouncer = new LabelDebouncer(0);
    expect(debouncer.observe('A', 0)).toBe('A');
    debouncer.reset();
    expect(debouncer.observe('A', 1)).toBe('A');
    expect(() => new LabelDebouncer(-1)).toThrow(RangeError);
  });
});

describe('normalizeUuid', () => {
  it('accepts 128-bit UUIDs and short forms', () => {
    expect(normalizeUuid('0000FFE0-0000-1000-8000-00805F9B34FB')).toBe('0000ffe0-0000-1000-8000-00805f9b34fb');
    expect(normalizeUuid('ffe1')).toBe('0000ffe1-0000-1000-8000-00805f9b34fb');
    expect(normalizeUuid('0x0000ffe1')).toBe('0000ffe1-0000-1000-8000-00805f9b34fb');
    expect(() => normalizeUuid('serial')).toThrow(/not a Bluetooth UUID/);
  });
});

describe('analyzer event mapping', () => {
  it('keys events apart from labels, so a class named "fall" keeps its own bytes', () => {
    expect(eventMappingKey('fall')).toBe('event:fall');
    expect(eventKindOfKey('event:initial_contact')).toBe('initial_contact');
    expect(eventKindOfKey('fall')).toBeNull();
    const mapping = { fall: 'L', 'event:fall': '\\x07' };
    expect(Array.from(bytesForLabel(mapping, eventMappingKey('fall')) ?? [])).toEqual([0x07]);
    expect(Array.from(bytesForLabel(mapping, 'fall') ?? [])).toEqual([0x4c]);
    expect(bytesForLabel(mapping, eventMappingKey('repetition'))).toBeNull();
  });

  it('lists the arrived events that write bytes, in order', () => {
    const mapping = { 'event:repetition': 'r', 'event:gap': '' };
    const events = [{ kind: 'repetition' }, { kind: 'gap' }, { kind: 'camera_angle' }, { kind: 'repetition' }];
    expect(mappedEventKinds(mapping, events)).toEqual(['repetition', 'repetition']);
  });

  it('names a bad escape in an event mapping', () => {
    expect(() => bytesForLabel({ 'event:fall': '\\xZZ' }, eventMappingKey('fall'))).toThrow(ByteTextError);
  });
});
