// The models stored on the server, the one this session uses and its classes. ModelPanel reads
// it; the results and the Bluetooth device name classes by it.
import { createContext, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { useModels, type Models } from '../hooks/useModels';
import { useLive } from './LiveContext';
import { required } from './required';

export interface ModelsView {
  models: Models;
  /** The model the live session uses (from the server's heartbeat), else the active one. */
  sessionModelId: string | null;
  /** That model's classes, in its order ([] while unknown). */
  classes: string[];
}

export const ModelsContext = createContext<ModelsView | null>(null);

/** The file name of the session's model (its id while the list is unknown), or null. */
export function sessionModelName({ models, sessionModelId }: ModelsView): string | null {
  return models.list?.models.find((m) => m.id === sessionModelId)?.filename ?? sessionModelId;
}

export function useModelsView(): ModelsView {
  return required(useContext(ModelsContext), 'useModelsView', 'ModelsProvider');
}

/** Inside LiveProvider: the list follows the server's active model and the connection. */
export function ModelsProvider({ children }: { children: ReactNode }) {
  const { apiUrl, refreshServerState, activeModelId, session, connection } = useLive();
  const models = useModels(apiUrl, refreshServerState);

  // another client may switch the model: keep the list in step with the server
  const { refresh } = models;
  const listedActive = models.list?.active?.model_id ?? null;
  useEffect(() => {
    if (activeModelId !== null && activeModelId !== listedActive) void refresh();
  }, [activeModelId, listedActive, refresh]);
  useEffect(() => {
    if (connection.status === 'connected') void refresh();
  }, [connection.status, refresh]);

  const sessionModelId = session?.model_id ?? activeModelId ?? listedActive;
  const classes = useMemo(
    () => models.list?.models.find((m) => m.id === sessionModelId)?.classes ?? [],
    [models.list, sessionModelId],
  );
  const value = useMemo(() => ({ models, sessionModelId, classes }), [models, sessionModelId, classes]);
  return <ModelsContext value={value}>{children}</ModelsContext>;
}
