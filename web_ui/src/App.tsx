import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { BluetoothPanel } from './components/BluetoothPanel';
import { ClassificationPanel } from './components/ClassificationPanel';
import { ConnectionStatus } from './components/ConnectionStatus';
import { ModelPanel } from './components/ModelPanel';
import { PoseOverlay } from './components/PoseOverlay';
import { PoseSettingsForm } from './components/PoseSettingsForm';
import { SourcePicker, type SourceKind } from './components/SourcePicker';
import {
  DEFAULT_POSE_SETTINGS,
  DEFAULT_SOURCE_SETTINGS,
  STORAGE_KEYS,
  TIMELINE_SECONDS,
  initialApiUrl,
  normalizeApiUrl,
} from './config';
import { useBluetooth } from './hooks/useBluetooth';
import { useCamera } from './hooks/useCamera';
import { useImageFrames } from './hooks/useImageFrames';
import { useModels } from './hooks/useModels';
import { usePose } from './hooks/usePose';
import { useSkeletonCanvas } from './hooks/useSkeletonCanvas';
import { useSocket } from './hooks/useSocket';
import { useStoredSettings } from './hooks/useStoredSettings';
import { useVideoElement } from './hooks/useVideoElement';
import type { PoseFrame } from './lib/pose';

export function App() {
  const [apiUrl, setApiUrl] = useState(initialApiUrl);
  const [poseSettings, setPoseSettings] = useStoredSettings(STORAGE_KEYS.pose, DEFAULT_POSE_SETTINGS);
  const [sourceSettings, setSourceSettings] = useStoredSettings(STORAGE_KEYS.source, DEFAULT_SOURCE_SETTINGS);
  const [sourceKind, setSourceKind] = useState<SourceKind>('camera');
  const [deviceId, setDeviceId] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [overlap, setOverlap] = useState<number | null>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const sendMode = sourceSettings.sendMode;

  const camera = useCamera(sourceKind === 'camera', deviceId);
  const video = useVideoElement(
    videoRef,
    sourceKind === 'camera' ? { kind: 'camera', stream: camera.stream } : { kind: 'file', file },
  );
  const live = useSocket(apiUrl, { imageSize: video.imageSize, overlap });
  const models = useModels(apiUrl, live.refreshServerState);
  const draw = useSkeletonCanvas(canvasRef);

  const { sendKeypoints, sendImage } = live;
  const onPose = useCallback(
    (frame: PoseFrame) => {
      draw(frame.landmarks, frame.imageSize);
      sendKeypoints(frame);
    },
    [draw, sendKeypoints],
  );
  const pose = usePose(videoRef, poseSettings, sendMode === 'keypoints', onPose);
  useImageFrames(
    videoRef,
    sendMode === 'images' && video.playing,
    { maxFps: sourceSettings.imageMaxFps, maxWidth: sourceSettings.imageMaxWidth, quality: sourceSettings.jpegQuality },
    sendImage,
  );
  useEffect(() => {
    if (sendMode === 'images') draw(null, video.imageSize ?? { width: 1, height: 1 }); // no skeleton to show
  }, [sendMode, draw, video.imageSize]);

  // another client may switch the model: keep the list in step with the server
  const { refresh } = models;
  const listedActive = models.list?.active?.model_id ?? null;
  useEffect(() => {
    if (live.activeModelId !== null && live.activeModelId !== listedActive) void refresh();
  }, [live.activeModelId, listedActive, refresh]);
  useEffect(() => {
    if (live.connection.status === 'connected') void refresh();
  }, [live.connection.status, refresh]);

  const sessionModelId = live.session?.model_id ?? live.activeModelId ?? listedActive;
  const classes = useMemo(
    () => models.list?.models.find((m) => m.id === sessionModelId)?.classes ?? [],
    [models.list, sessionModelId],
  );
  const label = live.lastResult?.label ?? null;
  const bluetooth = useBluetooth(label, classes);

  const onApiUrlChange = (text: string): string | null => {
    const url = normalizeApiUrl(text);
    if (!url) return 'Give an http:// or https:// URL, e.g. http://localhost:5001';
    try {
      window.localStorage.setItem(STORAGE_KEYS.apiUrl, url);
    } catch {
      // the URL lasts for this visit only
    }
    setApiUrl(url);
    return null;
  };

  const sourceError = sourceKind === 'camera' ? camera.error : video.error;
  let notice: string | null = null;
  if (sourceKind === 'file' && !file) notice = 'Choose a video file below.';
  else if (sourceError) notice = sourceError;
  else if (sendMode === 'keypoints' && pose.status === 'loading') notice = 'Loading the pose model…';
  const connected = live.connection.status === 'connected';
  const noModel = connected && live.activeModelId === null && !live.session?.model_id;

  return (
    <div className="app">
      <header className="app-header">
        <h1>StreamPoseML</h1>
        <ConnectionStatus
          connection={live.connection}
          apiUrl={apiUrl}
          lastHeartbeatAt={live.lastHeartbeatAt}
          onApiUrlChange={onApiUrlChange}
          onRetry={live.reconnectNow}
        />
      </header>
      {noModel && (
        <p className="banner" role="status">
          The server has no model yet: upload one in the Model panel to see classifications.
        </p>
      )}
      <main className="layout">
        <div className="column">
          <PoseOverlay videoRef={videoRef} canvasRef={canvasRef} notice={notice} controls={sourceKind === 'file'} />
          <SourcePicker
            kind={sourceKind}
            onKindChange={setSourceKind}
            devices={camera.devices}
            deviceId={deviceId}
            onDeviceChange={setDeviceId}
            file={file}
            onFileChange={setFile}
            sendMode={sendMode}
            onSendModeChange={(mode) => setSourceSettings({ sendMode: mode })}
            imageMaxFps={sourceSettings.imageMaxFps}
            onImageMaxFpsChange={(fps) => setSourceSettings({ imageMaxFps: fps })}
            error={sourceError}
          />
          <PoseSettingsForm
            settings={poseSettings}
            onChange={setPoseSettings}
            pose={pose}
            disabled={sendMode === 'images'}
          />
          <BluetoothPanel bluetooth={bluetooth} classes={classes} label={label} />
        </div>
        <div className="column">
          <ClassificationPanel
            result={live.lastResult}
            classes={classes}
            timeline={live.timeline}
            timelineSeconds={TIMELINE_SECONDS}
            live={live.stats}
            pose={pose.stats}
            sendMode={sendMode}
            session={live.session}
            lastError={live.lastError}
            overlap={overlap}
            onOverlapChange={setOverlap}
            connected={connected}
          />
          <ModelPanel models={models} sessionModelId={sessionModelId} />
        </div>
      </main>
    </div>
  );
}
