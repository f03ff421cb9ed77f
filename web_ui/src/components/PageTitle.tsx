import { useEffect } from 'react';
import { useLive } from '../context/LiveContext';
import { sessionModelName, useModelsView } from '../context/ModelsContext';
import { noInputReason, useSource } from '../context/SourceContext';
import { pageTitle } from '../lib/pageTitle';

/** Keeps document.title on what runs: the live label and the model while a video is classified
 * and the server answers; the plain title when idle, paused or disconnected. Renders nothing. */
export function PageTitle() {
  const { lastResult, connected } = useLive();
  const modelName = sessionModelName(useModelsView());
  const idle = noInputReason(useSource());
  const streaming = connected && idle === null;
  const title = pageTitle(streaming, lastResult?.label ?? null, modelName);
  useEffect(() => {
    document.title = title;
  }, [title]);
  return null;
}
