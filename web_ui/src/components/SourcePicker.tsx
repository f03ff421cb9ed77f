import type { CameraDevice } from '../hooks/useCamera';
import type { SendMode } from '../config';

export type SourceKind = 'camera' | 'file';

interface Props {
  kind: SourceKind;
  onKindChange: (kind: SourceKind) => void;
  devices: CameraDevice[];
  deviceId: string;
  onDeviceChange: (deviceId: string) => void;
  file: File | null;
  onFileChange: (file: File | null) => void;
  sendMode: SendMode;
  onSendModeChange: (mode: SendMode) => void;
  imageMaxFps: number;
  onImageMaxFpsChange: (fps: number) => void;
  error: string | null;
}

/** Where the video comes from (a webcam or a local file) and what is sent to the server. */
export function SourcePicker(props: Props) {
  const { kind, devices, deviceId, file, sendMode, error } = props;
  return (
    <section className="panel" aria-labelledby="source-heading">
      <h2 id="source-heading">Source</h2>
      <fieldset className="segmented">
        <legend>Video source</legend>
        <label>
          <input
            type="radio"
            name="source"
            value="camera"
            checked={kind === 'camera'}
            onChange={() => props.onKindChange('camera')}
          />
          Webcam
        </label>
        <label>
          <input
            type="radio"
            name="source"
            value="file"
            checked={kind === 'file'}
            onChange={() => props.onKindChange('file')}
          />
          Local video
        </label>
      </fieldset>
      {kind === 'camera' ? (
        <div className="field">
          <label htmlFor="camera">Camera</label>
          <select id="camera" value={deviceId} onChange={(e) => props.onDeviceChange(e.target.value)}>
            <option value="">Default camera</option>
            {devices
              .filter((d) => d.deviceId)
              .map((d) => (
                <option key={d.deviceId} value={d.deviceId}>
                  {d.label}
                </option>
              ))}
          </select>
        </div>
      ) : (
        <div className="field">
          <label htmlFor="video-file">Video file</label>
          <input
            id="video-file"
            type="file"
            accept="video/*"
            onChange={(e) => props.onFileChange(e.target.files?.[0] ?? null)}
          />
          {file && <span className="muted">{file.name} (plays in a loop)</span>}
        </div>
      )}
      <div className="field checkbox">
        <input
          id="send-images"
          type="checkbox"
          checked={sendMode === 'images'}
          onChange={(e) => props.onSendModeChange(e.target.checked ? 'images' : 'keypoints')}
        />
        <label htmlFor="send-images">Send images to the server instead of keypoints</label>
      </div>
      {sendMode === 'images' ? (
        <>
          <div className="field inline">
            <label htmlFor="image-fps">Images per second</label>
            <input
              id="image-fps"
              type="number"
              min={1}
              max={30}
              value={props.imageMaxFps}
              onChange={(e) => {
                const value = Number(e.target.value);
                if (Number.isFinite(value) && value >= 1 && value <= 30) props.onImageMaxFpsChange(Math.round(value));
              }}
            />
          </div>
          <p className="hint">
            The server runs MediaPipe on JPEG frames (for devices too weak to run pose); no skeleton is drawn here.
          </p>
        </>
      ) : (
        <p className="hint">Pose runs in this browser; only the 33 keypoints of each frame are sent.</p>
      )}
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
    </section>
  );
}
