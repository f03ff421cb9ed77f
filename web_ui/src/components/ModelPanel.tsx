import { useState } from 'react';
import { STORAGE_KEYS } from '../config';
import { useModelsView } from '../context/ModelsContext';
import { windowTerms } from '../lib/windowTerms';
import { ModelUpload } from './ModelUpload';

function loadToken(): string {
  try {
    return window.sessionStorage.getItem(STORAGE_KEYS.token) ?? '';
  } catch {
    return '';
  }
}

function saveToken(token: string): void {
  try {
    window.sessionStorage.setItem(STORAGE_KEYS.token, token);
  } catch {
    // storage disabled: the token lasts until the page is closed
  }
}

function size(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

/** Upload a model, list the stored ones and switch between them; the API's messages. */
export function ModelPanel() {
  const { models, sessionModelId } = useModelsView();
  const [token, setToken] = useState(loadToken);
  const { list, message, busy } = models;
  const activeId = list?.active?.model_id ?? null;
  const tokenOrNull = token.trim() || null;

  return (
    <section className="panel" aria-labelledby="model-heading">
      <h2 id="model-heading">Model</h2>
      <div className="field">
        <label htmlFor="api-token">API token</label>
        <input
          id="api-token"
          type="password"
          autoComplete="off"
          placeholder="not needed on the server's own machine"
          value={token}
          onChange={(e) => {
            setToken(e.target.value);
            saveToken(e.target.value);
          }}
        />
      </div>
      <ModelUpload busy={busy} onUpload={(file, settings) => models.upload(file, settings, tokenOrNull)} />
      {message && (
        <p
          role={message.kind === 'error' ? 'alert' : 'status'}
          className={message.kind === 'error' ? 'error-text' : 'success-text'}
          aria-label="Model message"
        >
          {message.text}
        </p>
      )}
      <h3>Stored models</h3>
      {list === null ? (
        <p className="muted">
          {models.loading ? 'Loading…' : 'The model list is unavailable while the server cannot be reached.'}
        </p>
      ) : list.models.length === 0 ? (
        <p className="muted">No model yet: upload one above.</p>
      ) : (
        <table className="models" aria-label="Stored models">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Classes</th>
              <th scope="col">Window</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.models.map((model) => {
              const active = model.id === activeId;
              return (
                <tr key={model.id} aria-current={active ? 'true' : undefined} className={active ? 'active' : undefined}>
                  <td>
                    <span className="filename">{model.filename}</span>
                    <span className="muted small">
                      {model.format} · {size(model.size_bytes)} · {model.id}
                      {model.id === sessionModelId && !active ? ' · this session' : ''}
                    </span>
                  </td>
                  <td className="small">{model.classes?.join(', ') ?? '–'}</td>
                  <td className="small">
                    {windowTerms(model.window_size, active && list.active ? list.active.stride : model.window_stride)}
                  </td>
                  <td>
                    {active ? (
                      <span className="badge">active</span>
                    ) : (
                      <button
                        type="button"
                        disabled={busy}
                        onClick={() => models.activate(model.id, {}, tokenOrNull)}
                        aria-label={`Activate ${model.filename}`}
                      >
                        Activate
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
