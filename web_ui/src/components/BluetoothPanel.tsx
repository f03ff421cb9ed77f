import { useEffect, useState } from 'react';
import { useBluetoothDevice } from '../context/BluetoothContext';
import { missingBluetoothText } from '../hooks/useBluetooth';
import { useLive } from '../context/LiveContext';
import { useModelsView } from '../context/ModelsContext';
import { ANALYZER_EVENT_KINDS } from '../lib/analysis';
import { ByteTextError, eventKindOfKey, eventMappingKey, formatBytes, parseByteText } from '../lib/bluetoothMapping';

function bytesPreview(text: string): { hex: string; error: string | null } {
  if (text === '') return { hex: 'nothing written', error: null };
  try {
    return { hex: formatBytes(parseByteText(text)), error: null };
  } catch (exc) {
    return { hex: '', error: exc instanceof ByteTextError ? exc.message : String(exc) };
  }
}

/** A Bluetooth device that reacts to the classification (Web Bluetooth, Chrome). */
export function BluetoothPanel() {
  const bluetooth = useBluetoothDevice();
  const { classes } = useModelsView();
  const live = useLive();
  const label = live.lastResult?.label ?? null;
  const { supported, status, settings, mapping, writes, error } = bluetooth;
  const [service, setService] = useState(settings.serviceUuid);
  const [characteristic, setCharacteristic] = useState(settings.characteristicUuid);
  useEffect(() => {
    setService(settings.serviceUuid);
    setCharacteristic(settings.characteristicUuid);
  }, [settings.serviceUuid, settings.characteristicUuid]);
  const saved = Object.keys(mapping);
  const labels = [...classes, ...saved.filter((name) => !classes.includes(name) && eventKindOfKey(name) === null)];
  // the analyzer's events, and those mapped before
  const analyzerKinds = live.analyzer ? ANALYZER_EVENT_KINDS[live.analyzer] : [];
  const eventKeys = [
    ...analyzerKinds.map(eventMappingKey),
    ...saved.filter((key) => eventKindOfKey(key) !== null && !analyzerKinds.includes(eventKindOfKey(key) ?? '')),
  ];
  const connected = status === 'connected';

  const setMapping = (name: string, text: string) =>
    bluetooth.setSettings({ ...settings, mapping: { ...mapping, [name]: text } });

  return (
    <section className="panel" aria-labelledby="bluetooth-heading">
      <h2 id="bluetooth-heading">Bluetooth device</h2>
      {!supported && (
        <p role="alert" className="error-text">
          {missingBluetoothText()}
        </p>
      )}
      <p className="muted" aria-label="Bluetooth status">
        {connected ? `Connected to ${bluetooth.deviceName}` : status === 'connecting' ? 'Connecting…' : 'Not connected'}
        {connected && label && ` · current label ${label}`}
      </p>
      <div className="uuid-fields">
        <div className="field">
          <label htmlFor="bt-service">Service UUID</label>
          <input
            id="bt-service"
            value={service}
            spellCheck={false}
            disabled={connected}
            onChange={(e) => setService(e.target.value)}
            onBlur={() => bluetooth.setSettings({ ...settings, serviceUuid: service.trim() })}
          />
        </div>
        <div className="field">
          <label htmlFor="bt-characteristic">Characteristic UUID</label>
          <input
            id="bt-characteristic"
            value={characteristic}
            spellCheck={false}
            disabled={connected}
            onChange={(e) => setCharacteristic(e.target.value)}
            onBlur={() => bluetooth.setSettings({ ...settings, characteristicUuid: characteristic.trim() })}
          />
        </div>
        <div className="field">
          <label htmlFor="bt-debounce">Debounce (ms)</label>
          <input
            id="bt-debounce"
            type="number"
            min={0}
            step={50}
            value={settings.debounceMs}
            onChange={(e) => {
              const value = Number(e.target.value);
              if (Number.isFinite(value) && value >= 0)
                bluetooth.setSettings({ ...settings, debounceMs: Math.round(value) });
            }}
          />
        </div>
      </div>
      <fieldset className="mapping">
        <legend>Bytes written per label and analyzer event</legend>
        {labels.length === 0 && <p className="muted">The active model's classes appear here.</p>}
        {[...labels, ...eventKeys].map((name, i) => {
          const text = mapping[name] ?? '';
          const preview = bytesPreview(text);
          const id = `bt-map-${i}`;
          const kind = eventKindOfKey(name);
          return (
            <div className="field mapping-row" key={name}>
              <label htmlFor={id}>{kind === null ? `Bytes for ${name}` : `Bytes for event ${kind}`}</label>
              <input
                id={id}
                value={text}
                spellCheck={false}
                placeholder="nothing"
                aria-invalid={preview.error !== null}
                onChange={(e) => setMapping(name, e.target.value)}
              />
              <span className={preview.error ? 'error-text small' : 'muted small'}>{preview.error ?? preview.hex}</span>
            </div>
          );
        })}
        <p className="hint">Text as UTF-8; \xNN is one byte in hex, \n \r \t \0 \\ as usual.</p>
      </fieldset>
      <div className="actions">
        {connected ? (
          <button type="button" onClick={bluetooth.disconnect}>
            Disconnect
          </button>
        ) : (
          <button
            type="button"
            onClick={() => void bluetooth.connect()}
            disabled={!supported || status === 'connecting'}
          >
            Connect a device
          </button>
        )}
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      {writes.length > 0 && (
        <>
          <h3>Last writes</h3>
          <ol className="writes" aria-label="Bluetooth writes">
            {writes.map((w, i) => (
              <li key={`${w.at}-${i}`} className={w.ok ? undefined : 'error-text'}>
                {new Date(w.at).toLocaleTimeString()} · {w.label} → {w.hex}
                {!w.ok && ` (failed: ${w.error})`}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
