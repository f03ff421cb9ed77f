import { useEffect, useState, type FormEvent } from 'react';
import { useLive } from '../context/LiveContext';
import { describeConnection } from '../lib/connection';

/** The connection to the API: its state in words (it reconnects by itself), and the API URL. */
export function ConnectionStatus() {
  const { connection, apiUrl, lastHeartbeatAt, changeApiUrl, reconnectNow } = useLive();
  const [now, setNow] = useState(() => Date.now());
  const [draft, setDraft] = useState(apiUrl);
  const [urlError, setUrlError] = useState<string | null>(null);
  useEffect(() => setDraft(apiUrl), [apiUrl]);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setUrlError(changeApiUrl(draft));
  };
  const connected = connection.status === 'connected';
  const heartbeatAge = lastHeartbeatAt === null ? null : Math.round((now - lastHeartbeatAt) / 1000);

  return (
    <section className="connection" aria-labelledby="connection-heading">
      <h2 id="connection-heading" className="visually-hidden">
        Connection
      </h2>
      <div
        className={`connection-state state-${connection.status}`}
        role="status"
        aria-live="polite"
        aria-label="Connection status"
      >
        <span className="dot" aria-hidden="true" />
        <span>{describeConnection(connection, now)}</span>
        {connected && heartbeatAge !== null && <span className="muted"> · heartbeat {heartbeatAge} s ago</span>}
      </div>
      {!connected && connection.status !== 'connecting' && (
        <button type="button" onClick={reconnectNow}>
          Retry now
        </button>
      )}
      <form className="api-url" onSubmit={submit}>
        <label htmlFor="api-url">API URL</label>
        <input
          id="api-url"
          type="url"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          aria-invalid={urlError !== null}
          aria-describedby={urlError ? 'api-url-error' : undefined}
          spellCheck={false}
        />
        <button type="submit">Use</button>
        {urlError && (
          <span id="api-url-error" role="alert" className="error-text">
            {urlError}
          </span>
        )}
      </form>
    </section>
  );
}
