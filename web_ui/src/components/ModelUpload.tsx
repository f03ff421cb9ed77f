import { useRef, useState, type FormEvent } from 'react';
import type { WindowSettings } from '../lib/api';

interface Props {
  busy: boolean;
  onUpload: (file: File, settings: WindowSettings) => Promise<boolean>;
}

function optionalInt(text: string): number | null {
  const value = text.trim();
  return value === '' ? null : Math.round(Number(value));
}

/** Upload a model file, with the window settings of the seed UI's form. */
export function ModelUpload({ busy, onUpload }: Props) {
  const [file, setFile] = useState<File | null>(null);
  const [windowSize, setWindowSize] = useState('');
  const [overlap, setOverlap] = useState('');
  const input = useRef<HTMLInputElement>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    const ok = await onUpload(file, { windowSize: optionalInt(windowSize), overlap: optionalInt(overlap) });
    if (ok && input.current) {
      input.current.value = '';
      setFile(null);
    }
  };

  return (
    <form className="model-upload" onSubmit={submit} aria-label="Upload a model">
      <div className="field">
        <label htmlFor="model-file">Model file</label>
        <input id="model-file" ref={input} type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <span className="hint">A model bundle (.zip), an MLflow model archive, or a pickle/joblib file.</span>
      </div>
      <div className="grid-fields">
        <div className="field">
          <label htmlFor="upload-window">Window size (frames)</label>
          <input
            id="upload-window"
            type="number"
            min={1}
            placeholder="model's"
            value={windowSize}
            onChange={(e) => setWindowSize(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="upload-overlap">Overlap (frames)</label>
          <input
            id="upload-overlap"
            type="number"
            min={0}
            placeholder="model's"
            value={overlap}
            onChange={(e) => setOverlap(e.target.value)}
          />
        </div>
      </div>
      <button type="submit" disabled={!file || busy}>
        {busy ? 'Uploading…' : 'Upload model'}
      </button>
    </form>
  );
}
