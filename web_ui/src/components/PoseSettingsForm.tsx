import { POSE_MODELS, type PoseSettings, type Smoothing } from '../config';
import { useLive } from '../context/LiveContext';
import { usePoseView } from '../context/PoseContext';
import { useSource } from '../context/SourceContext';
import type { Pose } from '../hooks/usePose';
import { MAX_PEOPLE, personName, subjectChoices } from '../lib/people';

const STATUS_TEXT: Record<Pose['status'], string> = {
  off: 'off',
  loading: 'loading the model…',
  ready: 'running',
  error: 'failed',
};

const PEOPLE_COUNTS = Array.from({ length: MAX_PEOPLE }, (_, i) => i + 1);

/** Choices of the in-browser pose model: size, delegate, smoothing and frame-rate cap; how many
 * people it looks for and which of them is classified. */
export function PoseSettingsForm() {
  const { settings, setSettings, pose } = usePoseView();
  const { numPoses, setNumPoses, tracks, subject, chooseSubject } = useLive();
  const disabled = useSource().settings.sendMode === 'images';
  return (
    <section className="panel" aria-labelledby="pose-heading">
      <h2 id="pose-heading">Pose in the browser</h2>
      <p className="muted" aria-label="Pose status">
        Pose: {disabled ? 'off (images are sent)' : STATUS_TEXT[pose.status]}
        {pose.status === 'ready' && pose.loadMs !== null && ` · model loaded in ${(pose.loadMs / 1000).toFixed(1)} s`}
      </p>
      <div className="grid-fields">
        <div className="field">
          <label htmlFor="pose-model">Pose model</label>
          <select
            id="pose-model"
            value={settings.model}
            onChange={(e) => setSettings({ model: e.target.value as PoseSettings['model'] })}
          >
            {POSE_MODELS.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="pose-delegate">Delegate</label>
          <select
            id="pose-delegate"
            value={settings.delegate}
            onChange={(e) => setSettings({ delegate: e.target.value as PoseSettings['delegate'] })}
          >
            <option value="CPU">CPU</option>
            <option value="GPU">GPU</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="pose-smoothing">Smoothing</label>
          <select
            id="pose-smoothing"
            value={settings.smoothing}
            onChange={(e) => setSettings({ smoothing: e.target.value as Smoothing })}
          >
            <option value="off">off (as in training)</option>
            <option value="light">light</option>
            <option value="strong">strong</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="pose-people">People</label>
          <select id="pose-people" value={numPoses} onChange={(e) => setNumPoses(Number(e.target.value))}>
            {PEOPLE_COUNTS.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="pose-subject">Classify</label>
          <select
            id="pose-subject"
            value={subject ?? ''}
            disabled={numPoses === 1}
            onChange={(e) => chooseSubject(e.target.value === '' ? null : Number(e.target.value))}
          >
            <option value="">Auto (largest)</option>
            {subjectChoices(tracks, subject).map((id) => (
              <option key={id} value={id}>
                {personName(id)}
                {tracks.includes(id) ? '' : ' (not in view)'}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="pose-fps">Frame-rate cap (fps)</label>
          <input
            id="pose-fps"
            type="number"
            min={1}
            max={60}
            value={settings.maxFps}
            onChange={(e) => {
              const value = Number(e.target.value);
              if (Number.isFinite(value) && value >= 1 && value <= 60) setSettings({ maxFps: Math.round(value) });
            }}
          />
        </div>
      </div>
      {numPoses > 1 && (
        <p className="hint">
          The server tracks up to {numPoses} people and classifies one; keypoints go as JSON and are not smoothed.
        </p>
      )}
      {pose.status === 'ready' && pose.stats.failures > 0 && pose.stats.frames === 0 && (
        <p role="alert" className="error-text">
          Pose fails on every frame ({pose.stats.lastFailure})
          {settings.delegate === 'GPU' ? '; choose the CPU delegate.' : '.'}
        </p>
      )}
      {pose.error && (
        <p role="alert" className="error-text">
          {pose.error}
        </p>
      )}
    </section>
  );
}
