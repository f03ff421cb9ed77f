// The API's stored models and the active one; upload and activation through REST.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiClient, ApiError, type ModelChange, type ModelList, type WindowSettings } from '../lib/api';

export interface ModelMessage {
  kind: 'success' | 'error';
  text: string;
}

export interface Models {
  list: ModelList | null;
  loading: boolean;
  busy: boolean;
  message: ModelMessage | null;
  refresh: () => Promise<void>;
  upload: (file: File, settings: WindowSettings, token: string | null) => Promise<boolean>;
  activate: (id: string, settings: WindowSettings, token: string | null) => Promise<boolean>;
}

function changeMessage(change: ModelChange): ModelMessage {
  return { kind: 'success', text: change.result };
}

/** An error, naming the uploaded file once (the server's message may already name it). */
export function errorMessage(exc: unknown, fileName: string | null = null): ModelMessage {
  const text = exc instanceof ApiError ? exc.message : `Unexpected error: ${(exc as Error).message}`;
  return { kind: 'error', text: fileName && !text.includes(fileName) ? `${fileName}: ${text}` : text };
}

/** `onChanged` runs after a successful upload or activation (the live session follows). */
export function useModels(apiUrl: string, onChanged: () => void): Models {
  const client = useMemo(() => new ApiClient(apiUrl), [apiUrl]);
  const [list, setList] = useState<ModelList | null>(null);
  const [loading, setLoading] = useState(false);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<ModelMessage | null>(null);

  const refresh = useCallback(async () => {
    setLoading(true);
    try {
      setList(await client.listModels());
    } catch {
      setList(null); // the connection panel says why the server cannot be reached
    } finally {
      setLoading(false);
    }
  }, [client]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const run = useCallback(
    async (action: () => Promise<ModelChange>, fileName: string | null = null): Promise<boolean> => {
      setBusy(true);
      setMessage(null);
      try {
        const change = await action();
        setMessage(changeMessage(change));
        onChanged();
        await refresh();
        return true;
      } catch (exc) {
        setMessage(errorMessage(exc, fileName));
        return false;
      } finally {
        setBusy(false);
      }
    },
    [refresh, onChanged],
  );

  const upload = useCallback(
    (file: File, settings: WindowSettings, token: string | null) =>
      run(() => client.uploadModel(file, settings, token), file.name),
    [client, run],
  );
  const activate = useCallback(
    (id: string, settings: WindowSettings, token: string | null) =>
      run(() => client.activateModel(id, settings, token)),
    [client, run],
  );

  return useMemo(
    () => ({ list, loading, busy, message, refresh, upload, activate }),
    [list, loading, busy, message, refresh, upload, activate],
  );
}
