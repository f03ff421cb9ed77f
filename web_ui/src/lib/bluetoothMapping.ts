// Which bytes go to the Bluetooth device for which classification, and when.
import { KNOWN_POSITIVE_LABELS, POSITIVE_CLASS_BYTES } from '../config';

export class ByteTextError extends Error {}

/**
 * The bytes of a mapping text: characters as UTF-8, with the escapes `\xNN` (one byte in hex),
 * `\n`, `\r`, `\t`, `\0` and `\\`. Throws ByteTextError naming the bad escape.
 */
export function parseByteText(text: string): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char !== '\\') {
      const code = text.codePointAt(i) as number;
      const symbol = String.fromCodePoint(code);
      bytes.push(...encoder.encode(symbol));
      i += symbol.length - 1;
      continue;
    }
    const next = text[i + 1];
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '0': 0, '\\': 92 };
    if (next !== undefined && next in simple) {
      bytes.push(simple[next]);
      i += 1;
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      throw new ByteTextError(
        `bad escape "${text.slice(i, i + 4)}" in "${text}": use \\xNN (two hex digits), \\n, \\r, \\t, \\0 or \\\\`,
      );
    }
  }
  return Uint8Array.from(bytes);
}

/** `61 0a` style hex of bytes, for display. */
export function formatBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * The positive class of a model's classes: a label the original study used, else, for a binary
 * classifier, the second of its (sorted) classes, which is scikit-learn's positive label.
 * Null when there is no such class (multi-class models: map the labels by hand).
 */
export function positiveClass(classes: readonly string[] | null | undefined): string | null {
  if (!classes || classes.length === 0) return null;
  const known = classes.find((label) => KNOWN_POSITIVE_LABELS.includes(label));
  if (known) return known;
  return classes.length === 2 ? [...classes].sort()[1] : null;
}

/** The mapping to use for a model: the saved one, plus `a` for the positive class when the
 * saved mapping says nothing about it. */
export function effectiveMapping(
  saved: Readonly<Record<string, string>>,
  classes: readonly string[] | null | undefined,
): Record<string, string> {
  const mapping = { ...saved };
  const positive = positiveClass(classes);
  if (positive !== null && !(positive in mapping)) mapping[positive] = POSITIVE_CLASS_BYTES;
  return mapping;
}

/** Bytes for a label (null: this label writes nothing). Throws ByteTextError on a bad text. */
export function bytesForLabel(
  mapping: Readonly<Record<string, string>>,
  label: string,
): Uint8Array<ArrayBuffer> | null {
  const text = mapping[label];
  if (text === undefined || text === '') return null;
  return parseByteText(text);
}

/** The mapping key of an analyzer event kind: prefixed, so that it never clashes with a class
 * of the same name (a model may well have a class "fall"). */
export function eventMappingKey(kind: string): string {
  return `event:${kind}`;
}

/** The event kind a mapping key names, or null for a label's key. */
export function eventKindOfKey(key: string): string | null {
  return key.startsWith('event:') ? key.slice('event:'.length) : null;
}

/** The kinds of `events`, in their order, that the mapping writes bytes for (`bytesForLabel` of
 * their key): an event is written as it arrives, since it happens once (no debounce). */
export function mappedEventKinds(
  mapping: Readonly<Record<string, string>>,
  events: readonly { kind: string }[],
): string[] {
  return events.map((e) => e.kind).filter((kind) => (mapping[eventMappingKey(kind)] ?? '') !== '');
}

/**
 * Decides when a change of classification is written: a label must hold for `debounceMs`
 * before it counts, and a label is written once per change (not again while it holds).
 * Times are in ms on any monotonic clock.
 */
export class LabelDebouncer {
  private candidate: string | null = null;
  private since = 0;
  private lastEmitted: string | null = null;

  constructor(private debounceMs: number) {
    if (!(debounceMs >= 0)) throw new RangeError(`debounce must be >= 0 ms, got ${debounceMs}`);
  }

  setDebounce(debounceMs: number): void {
    if (!(debounceMs >= 0)) throw new RangeError(`debounce must be >= 0 ms, got ${debounceMs}`);
    this.debounceMs = debounceMs;
  }

  /** Feed the current label (null: no classification yet, ignored). Returns the label to write
   * now, or null. */
  observe(label: string | null, nowMs: number): string | null {
    if (label === null) return null;
    if (label !== this.candidate) {
      this.candidate = label;
      this.since = nowMs;
    }
    return this.poll(nowMs);
  }

  /** Call again without a new label (from a timer): the pending label, once due. */
  poll(nowMs: number): string | null {
    if (this.candidate === null || this.candidate === this.lastEmitted) return null;
    if (nowMs - this.since < this.debounceMs) return null;
    this.lastEmitted = this.candidate;
    return this.candidate;
  }

  /** ms until the pending label is due, or null when nothing is pending. */
  pendingDelay(nowMs: number): number | null {
    if (this.candidate === null || this.candidate === this.lastEmitted) return null;
    return Math.max(0, this.debounceMs - (nowMs - this.since));
  }

  /** Forget what was written (a new device connection starts from nothing). */
  reset(): void {
    this.candidate = null;
    this.lastEmitted = null;
  }
}

const BASE_UUID_SUFFIX = '-0000-1000-8000-00805f9b34fb';

/** A 128-bit UUID in lower case; `ffe0` or `0000ffe0` (16/32-bit short forms) are expanded with
 * the Bluetooth base UUID. Throws ByteTextError on anything else. */
export function normalizeUuid(text: string): string {
  const value = text.trim().toLowerCase().replace(/^0x/, '');
  if (/^[0-9a-f]{4}$/.test(value)) return `0000${value}${BASE_UUID_SUFFIX}`;
  if (/^[0-9a-f]{8}$/.test(value)) return `${value}${BASE_UUID_SUFFIX}`;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) return value;
  throw new ByteTextError(
    `"${text}" is not a Bluetooth UUID: give 128 bits (0000ffe0-0000-1000-8000-00805f9b34fb) or a short form (ffe0)`,
  );
}
