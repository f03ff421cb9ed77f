// A settings object kept in localStorage (read once with its defaults, written on change).
import { useCallback, useState } from 'react';
import { loadSettings, saveSettings } from '../lib/storage';

export function useStoredSettings<T extends object>(key: string, defaults: T): [T, (patch: Partial<T>) => void] {
  const [value, setValue] = useState<T>(() => loadSettings(key, defaults));
  const update = useCallback(
    (patch: Partial<T>) =>
      setValue((old) => {
        const next = { ...old, ...patch };
        saveSettings(key, next);
        return next;
      }),
    [key],
  );
  return [value, update];
}
