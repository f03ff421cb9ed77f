import { useLive } from '../context/LiveContext';

/** Says the server has no model yet, while it is connected and has none. */
export function NoModelBanner() {
  const { connected, activeModelId, session } = useLive();
  if (!connected || activeModelId !== null || session?.model_id) return null;
  return (
    <p className="banner" role="status">
      The server has no model yet: upload one in the Model panel to see classifications.
    </p>
  );
}
