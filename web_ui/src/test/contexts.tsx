// Component tests: a panel rendered inside every concern's context, with quiet defaults that a
// test overrides where it matters (no socket, camera, pose worker or Bluetooth behind them); the
// source runs and has a video.
import { render } from '@testing-library/react';
import { createRef, type ReactElement } from 'react';
import { DEFAULT_BLUETOOTH_SETTINGS, DEFAULT_POSE_SETTINGS, DEFAULT_SOURCE_SETTINGS } from '../config';
import { BluetoothContext } from '../context/BluetoothContext';
import { LiveContext, type Live } from '../context/LiveContext';
import { ModelsContext, type ModelsView } from '../context/ModelsContext';
import { PoseContext, type PoseView } from '../context/PoseContext';
import { SourceContext, type Source } from '../context/SourceContext';
import type { Bluetooth } from '../hooks/useBluetooth';
import { EMPTY_POSE_STATS } from '../hooks/usePose';
import { initialConnection } from '../lib/connection';
import { EMPTY_LIVE_STATS } from '../lib/liveStats';
import { NOBODY_IN_VIEW } from '../lib/people';

const nothing = () => undefined;

export interface ContextValues {
  live?: Partial<Live>;
  models?: Partial<ModelsView>;
  pose?: Partial<PoseView>;
  source?: Partial<Source>;
  bluetooth?: Partial<Bluetooth>;
}

export function liveValue(patch: Partial<Live> = {}): Live {
  return {
    connection: { ...initialConnection('http://api', 0), status: 'connected' },
    activeModelId: 'm',
    session: null,
    lastResult: null,
    lastError: null,
    lastWarning: null,
    lastHeartbeatAt: null,
    analysis: null,
    updateAnalysis: nothing,
    sendKeypoints: () => true,
    flushKeypoints: nothing,
    sendImage: nothing,
    reconnectNow: nothing,
    refreshServerState: nothing,
    tracks: [],
    subject: null,
    chooseSubject: nothing,
    setPeopleListener: nothing,
    apiUrl: 'http://api',
    changeApiUrl: () => null,
    connected: true,
    stats: EMPTY_LIVE_STATS,
    timeline: [],
    overlap: null,
    setOverlap: nothing,
    analyzer: null,
    setAnalyzer: nothing,
    numPoses: 1,
    setNumPoses: nothing,
    ...patch,
  };
}

function modelsValue(patch: Partial<ModelsView> = {}): ModelsView {
  return {
    models: {
      list: null,
      loading: false,
      busy: false,
      message: null,
      refresh: async () => undefined,
      upload: async () => true,
      activate: async () => true,
    },
    sessionModelId: null,
    classes: [],
    ...patch,
  };
}

function poseValue(patch: Partial<PoseView> = {}): PoseView {
  return {
    settings: DEFAULT_POSE_SETTINGS,
    setSettings: nothing,
    pose: {
      status: 'off',
      error: null,
      loadMs: null,
      stats: EMPTY_POSE_STATS,
    },
    people: NOBODY_IN_VIEW,
    ...patch,
  };
}

function sourceValue(patch: Partial<Source> = {}): Source {
  return {
    running: true,
    start: nothing,
    pause: nothing,
    kind: 'camera',
    setKind: nothing,
    devices: [],
    deviceId: '',
    setDeviceId: nothing,
    file: null,
    setFile: nothing,
    settings: DEFAULT_SOURCE_SETTINGS,
    setSettings: nothing,
    error: null,
    videoRef: createRef<HTMLVideoElement>(),
    canvasRef: createRef<HTMLCanvasElement>(),
    imageSize: { width: 640, height: 360 },
    playing: true,
    ...patch,
  };
}

function bluetoothValue(patch: Partial<Bluetooth> = {}): Bluetooth {
  return {
    supported: true,
    status: 'disconnected',
    deviceName: null,
    error: null,
    settings: DEFAULT_BLUETOOTH_SETTINGS,
    mapping: {},
    writes: [],
    setSettings: nothing,
    connect: async () => undefined,
    disconnect: nothing,
    ...patch,
  };
}

/** `ui` rendered inside every context, with `values` over the defaults. */
export function renderInContexts(ui: ReactElement, values: ContextValues = {}) {
  return render(
    <SourceContext value={sourceValue(values.source)}>
      <LiveContext value={liveValue(values.live)}>
        <ModelsContext value={modelsValue(values.models)}>
          <PoseContext value={poseValue(values.pose)}>
            <BluetoothContext value={bluetoothValue(values.bluetooth)}>{ui}</BluetoothContext>
          </PoseContext>
        </ModelsContext>
      </LiveContext>
    </SourceContext>,
  );
}
