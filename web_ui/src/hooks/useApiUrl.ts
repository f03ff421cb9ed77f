// The API URL in use (config.ts's initialApiUrl), and the user's change of it, saved in
// localStorage for the next visits.
import { useCallback, useState } from 'react';
import { STORAGE_KEYS, initialApiUrl, normalizeApiUrl } from '../config';

/** `[apiUrl, changeApiUrl]`; changeApiUrl(text) says what is wrong with `text`, or null. */
export function useApiUrl(): [string, (text: string) => string | null] {
  const [apiUrl, setApiUrl] = useState(initialApiUrl);
  const changeApiUrl = useCallback((text: string): string | null => {
    const url = normalizeApiUrl(text);
    if (!url) return 'Give an http:// or https:// URL, e.g. http://localhost:5001';
    try {
      window.localStorage.setItem(STORAGE_KEYS.apiUrl, url);
    } catch {
      // the URL lasts for this visit only
    }
    setApiUrl(url);
    return null;
  }, []);
  return [apiUrl, changeApiUrl];
}
