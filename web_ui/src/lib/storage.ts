// Settings saved in the browser: read with their defaults, so a stale or edited entry cannot
// break the page.

/** `defaults` overlaid with the saved object's keys that exist in `defaults` with the same type. */
export function mergeSaved<T extends object>(defaults: T, saved: unknown): T {
  if (!saved || typeof saved !== 'object' || Array.isArray(saved)) return { ...defaults };
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = (saved as Record<string, unknown>)[key];
    if (value === undefined || value === null) continue;
    const sameKind =
      typeof value === typeof fallback &&
      Array.isArray(value) === Array.isArray(fallback) &&
      (typeof value !== 'number' || Number.isFinite(value));
    if (sameKind) out[key] = value;
  }
  return out as T;
}

export function loadSettings<T extends object>(
  key: string,
  defaults: T,
  storage: Storage | null = browserStorage(),
): T {
  try {
    const text = storage?.getItem(key);
    return mergeSaved(defaults, text ? JSON.parse(text) : null);
  } catch {
    return { ...defaults };
  }
}

export function saveSettings(key: string, value: unknown, storage: Storage | null = browserStorage()): void {
  try {
    storage?.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: the settings last for this visit only
  }
}

function browserStorage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}
