import { useSource } from '../context/SourceContext';

/** Start and Pause, where the video comes from (a webcam or a local file) and what is sent to
 * the server. */
export function SourcePicker() {
  const {
    running,
    start,
    pause,
    kind,
    setKind,
    devices,
    deviceId,
    setDeviceId,
    file,
    setFile,
    settings,
    setSettings,
    error,
  } = useSource();
  const { sendMode } = settings;
  return (
    <section className="panel" aria-labelledby="source-heading">
      <h2 id="source-heading">Source</h2>
      <div className="run-control">
        {running ? (
          <button type="button" onClick={pause}>
            Pause
          </button>
        ) : (
          <button type="button" onClick={start}>
            Start
          </button>
        )}
        <span className="muted" aria-label="Streaming status">
          {running
            ? kind === 'camera'
              ? 'The camera is on and frames go to the server.'
              : 'The video plays and frames go to the server.'
            : 'Paused: the camera is off and nothing is sent.'}
        </span>
      </div>
      <fieldset className="segmented">
        <legend>Video source</legend>
        <label>
          <input
            type="radio"
            name="source"
            value="camera"
            checked={kind === 'camera'}
            onChange={() => setKind('camera')}
          />
          Webcam
        </label>
        <label>
          <input type="radio" name="source" value="file" checked={kind === 'file'} onChange={() => setKind('file')} />
          Local video
        </label>
      </fieldset>
      {kind === 'camera' ? (
        <div className="field">
          <label htmlFor="camera">Camera</label>
          <select id="camera" value={deviceId} onChange={(e) => setDeviceId(e.target.value)}>
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
          <input id="video-file" type="file" accept="video/*" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          {file && <span className="muted">{file.name} (plays in a loop)</span>}
        </div>
      )}
      <div className="field checkbox">
        <input
          id="send-images"
          type="checkbox"
          checked={sendMode === 'images'}
          onChange={(e) => setSettings({ sendMode: e.target.checked ? 'images' : 'keypoints' })}
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
              value={settings.imageMaxFps}
              onChange={(e) => {
                const value = Number(e.target.value);
                if (Number.isFinite(value) && value >= 1 && value <= 30)
                  setSettings({ imageMaxFps: Math.round(value) });
              }}
            />
          </div>
          <p className="hint">
            The server runs MediaPipe on JPEG frames (for devices too weak to run pose); no skeleton is drawn here.
          </p>
        </>
      ) : (
        <>
          <div className="field checkbox">
            <input
              id="send-json"
              type="checkbox"
              checked={settings.keypointsFormat === 'json'}
              onChange={(e) => setSettings({ keypointsFormat: e.target.checked ? 'json' : 'binary' })}
            />
            <label htmlFor="send-json">Send keypoints as JSON, one message per frame</label>
          </div>
          <p className="hint">
            Pose runs in this browser; only the 33 keypoints of each frame are sent
            {settings.keypointsFormat === 'binary'
              ? ', in binary messages that hold the frames up to the next window the server classifies.'
              : '.'}
          </p>
        </>
      )}
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
    </section>
  );
}
