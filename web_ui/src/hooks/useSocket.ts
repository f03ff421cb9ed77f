// The live connection to the API (Socket.IO, docs/api.md): sends `keypoints` or `frame`
// messages and `configure`, receives `frame_result`, `configured`, `heartbeat` and `error`.
// socket.io-client reconnects by itself with exponential backoff (RECONNECT, as Manager options);
// this hook turns its events into what the user is told (lib/connection.ts) and reports what it
// sends and receives to the statistics (lib/liveStats.ts). Keypoints go through the session's
// SessionBatcher (lib/sessionBatcher.ts): binary SPK1 messages that hold the frames up to the
// next due window, or one JSON message per frame (docs/api.md, "Sending frames"); frames of several
// people go as JSON (lib/people.ts), whose `people` answers reach the listener the page sets.
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import { HEARTBEAT_INTERVAL_MS, RECONNECT, type KeypointsFormat } from '../config';
import {
  connectionReducer,
  expectedReconnectDelay,
  initialConnection,
  reconnectionOptions,
  type ConnectionEvent,
  type ConnectionState,
} from '../lib/connection';
import { addAnalysis, type AnalysisView } from '../lib/analysis';
import type { LiveStatsCollector } from '../lib/liveStats';
import {
  buildConfigureMessage,
  buildImageMessage,
  keypointsMessages,
  knownImageSize,
  toServerError,
  type ClientEvents,
  type ConfigureMessage,
  type FrameResult,
  type ServerError,
  type ServerEvents,
  type ServerWarning,
  type SessionSettings,
  type SessionStatus,
} from '../lib/payload';
import { sameIds, type PeopleMessage } from '../lib/people';
import type { PoseFrame } from '../lib/pose';
import { SessionBatcher, type SessionWindow } from '../lib/sessionBatcher';
import type { EncodedImage } from './useImageFrames';

type LiveSocket = Socket<ServerEvents, ClientEvents>;

export type SessionView = Pick<SessionStatus, 'model_id' | 'window_size' | 'stride' | 'window_fill'>;

/** What the socket reports to the statistics. */
export type TrafficObserver = Pick<
  LiveStatsCollector,
  'sessionStarted' | 'sent' | 'sentFrames' | 'notSent' | 'received' | 'error'
>;

export interface LiveConnection {
  connection: ConnectionState;
  activeModelId: string | null;
  /** This connection's session on the server (model, window, stride), from `heartbeat` and
   * `configured`. */
  session: SessionView | null;
  /** The last result; null while the source has no video (no input: nothing to label). */
  lastResult: FrameResult | null;
  /** The server's last `error`, until a classification of a frame sent after it shows the
   * session has recovered (an error about the settings stays). */
  lastError: (ServerError & { at: number }) | null;
  /** The server's last `warning` (it reads this session's frames late and sheds old ones). */
  lastWarning: (ServerWarning & { at: number }) | null;
  lastHeartbeatAt: number | null;
  /** What the session's analyzer found so far (`analysis` events); null before the first. */
  analysis: AnalysisView | null;
  /** Change the analysis shown (a fall alarm acknowledged). */
  updateAnalysis: (update: (view: AnalysisView | null) => AnalysisView | null) => void;
  /** Send a frame now, or hold it until the frame that completes the session's next due window;
   * false if it cannot be sent (not connected, or nothing on the server to take it). */
  sendKeypoints: (frame: PoseFrame) => boolean;
  /** Send the frames held now (the source paused or stopped). */
  flushKeypoints: () => void;
  sendImage: (image: EncodedImage) => void;
  reconnectNow: () => void;
  /** Ask the server for its state now (after a model upload or switch). */
  refreshServerState: () => void;
  /** Several people: the confirmed track ids alive (the newest `people` answer). */
  tracks: readonly number[];
  /** The track id classified; null: the largest person (auto). A new session, or another
   * People setting, starts again from auto. */
  subject: number | null;
  /** Classify this person (`configure subject`); null: auto. */
  chooseSubject: (trackId: number | null) => void;
  /** Who receives the `people` answers (one per message sent); null: nobody. */
  setPeopleListener: (listener: PeopleListener | null) => void;
}

export type PeopleListener = (message: PeopleMessage) => void;

function sessionView(body: Partial<SessionStatus>): SessionView {
  return {
    model_id: body.model_id ?? null,
    window_size: body.window_size ?? null,
    stride: body.stride ?? null,
    window_fill: body.window_fill ?? 0,
  };
}

/** The window a status reports, if it has one. */
function sessionWindow(status: SessionView): SessionWindow | null {
  const { window_size: size, stride } = status;
  return size && stride ? { modelId: status.model_id, size, stride } : null;
}

/** Errors about the session's settings: a classification does not make them go away. */
const SETTINGS_ERRORS: ReadonlySet<string> = new Set([
  'bad_overlap',
  'unknown_field',
  'unknown_model',
  'window_mismatch',
]);

const reduceConnection = (state: ConnectionState, event: ConnectionEvent) =>
  connectionReducer(state, event, RECONNECT.unreachableAfter);

export function useSocket(
  apiUrl: string,
  settings: SessionSettings,
  traffic: TrafficObserver,
  keypointsFormat: KeypointsFormat,
): LiveConnection {
  const [connection, dispatch] = useReducer(reduceConnection, apiUrl, (url) => initialConnection(url, Date.now()));
  const [activeModelId, setActiveModelId] = useState<string | null>(null);
  const [session, setSession] = useState<SessionView | null>(null);
  const [lastResult, setLastResult] = useState<FrameResult | null>(null);
  const [lastError, setLastError] = useState<LiveConnection['lastError']>(null);
  const [lastWarning, setLastWarning] = useState<LiveConnection['lastWarning']>(null);
  const [lastHeartbeatAt, setLastHeartbeatAt] = useState<number | null>(null);
  const [analysis, setAnalysis] = useState<AnalysisView | null>(null);
  const [tracks, setTracks] = useState<readonly number[]>([]);
  const [subject, setSubject] = useState<number | null>(null);
  const subjectRef = useRef<number | null>(null);
  const peopleListener = useRef<PeopleListener | null>(null);
  const socketRef = useRef<LiveSocket | null>(null);
  const senderRef = useRef<SessionBatcher<PoseFrame> | null>(null);
  const formatRef = useRef(keypointsFormat);
  formatRef.current = keypointsFormat;
  const retryNow = useRef<() => void>(() => undefined);
  /** Frames are sent only while the server has a model for this session. */
  const hasModel = useRef(false);
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  /** The newest frame id sent, and the error shown with the newest frame id sent before it. */
  const lastSentId = useRef(-1);
  const shownError = useRef<{ code: string; sentBefore: number } | null>(null);
  /** The full `configure` of this page's settings and the subject chosen. */
  const configureMessage = useCallback(
    () => buildConfigureMessage({ ...settingsRef.current, subject: subjectRef.current }),
    [],
  );
  /** Track ids belong to one session's tracker: a new one starts from auto. */
  const forgetPeople = useCallback(() => {
    subjectRef.current = null;
    setSubject(null);
    setTracks([]);
  }, []);

  useEffect(() => {
    const socket: LiveSocket = io(apiUrl, {
      ...reconnectionOptions(RECONNECT),
      autoConnect: false,
      forceNew: true, // this hook's own Manager: its reconnection and listeners end with it
      transports: ['websocket', 'polling'],
      tryAllTransports: true,
    });
    const manager = socket.io;
    /** socket.io's reconnection attempt under way (0: none); its next delay is for attempt + 1. */
    let attempt = 0;
    /** Connections the server refused in a row (socket.io does not retry those by itself). */
    let refusals = 0;
    let refusedRetry: ReturnType<typeof setTimeout> | undefined;
    socketRef.current = socket;
    const emitFrames = (frames: PoseFrame[]) => {
      if (!socket.connected) return traffic.notSent(frames.length); // never buffered for a later session
      const now = performance.now();
      lastSentId.current = Math.max(lastSentId.current, frames[frames.length - 1].frameId);
      const messages = keypointsMessages(frames, formatRef.current === 'binary');
      if (messages.length === 1) {
        traffic.sentFrames(
          frames.map((f) => f.frameId),
          now,
        );
        socket.emit('keypoints', messages[0]);
        return;
      }
      messages.forEach((message, i) => {
        traffic.sent('keypoints', frames[i].frameId, now);
        socket.emit('keypoints', message);
      });
    };
    const sender = new SessionBatcher<PoseFrame>(
      { send: emitFrames, askWindow: () => socket.emit('heartbeat') },
      formatRef.current === 'binary' && (settingsRef.current.numPoses ?? 1) <= 1,
    );
    senderRef.current = sender;
    hasModel.current = false;
    setActiveModelId(null);
    setSession(null);
    dispatch({ type: 'start', url: apiUrl, now: Date.now() });

    const connectNow = () => {
      dispatch({ type: 'attempt', now: Date.now() });
      socket.connect();
    };
    retryNow.current = () => {
      if (socket.connected) return;
      clearTimeout(refusedRetry);
      attempt = 0;
      dispatch({ type: 'attempt', now: Date.now() });
      socket.disconnect().connect(); // drops socket.io's pending retry and tries at once
    };
    const onReconnectAttempt = (n: number) => {
      attempt = n;
      dispatch({ type: 'attempt', now: Date.now() });
    };
    manager.on('reconnect_attempt', onReconnectAttempt);

    socket.on('connect', () => {
      attempt = 0;
      refusals = 0;
      dispatch({ type: 'connected', now: Date.now() });
      traffic.sessionStarted(); // a new session on the server
      sender.sessionStarted();
      setAnalysis(null); // a new session's analyzer starts from nothing
      forgetPeople();
      // a session on the server starts from its defaults (a restarted worker, a network blip):
      // every connect sends all of this page's settings again
      configure(socket, sender, configureMessage());
    });
    socket.on('connect_error', (err: Error & { data?: { message?: string } }) => {
      // socket.io retries a connection that could not be made, not one the server refused
      const refused = !socket.active;
      if (refused) refusals += 1;
      const retryInMs = expectedReconnectDelay(refused ? refusals : attempt + 1, RECONNECT);
      dispatch({ type: 'failed', error: err.data?.message ?? err.message, retryInMs, now: Date.now() });
      if (refused) refusedRetry = setTimeout(connectNow, retryInMs);
    });
    socket.on('disconnect', (reason) => {
      hasModel.current = false;
      setSession(null); // the next connection is a new session: what it is comes from its answers
      const dropped = sender.drop(); // held for a session that is gone
      if (dropped > 0) traffic.notSent(dropped);
      if (reason === 'io client disconnect') return;
      attempt = 0;
      // socket.io reconnects after a lost connection, not after the server closed the session
      const closedByServer = reason === 'io server disconnect';
      const retryInMs = closedByServer ? 0 : expectedReconnectDelay(1, RECONNECT);
      dispatch({ type: 'closed', reason, retryInMs, now: Date.now() });
      if (closedByServer) connectNow();
    });
    socket.on('heartbeat', (body) => {
      setLastHeartbeatAt(Date.now());
      setActiveModelId(body?.active_model_id ?? null);
      hasModel.current = Boolean(body?.active_model_id || body?.session?.model_id);
      if (body?.session) {
        const view = sessionView(body.session);
        setSession(view);
        sender.windowReported(sessionWindow(view));
      }
    });
    socket.on('configured', (body) => {
      const view = sessionView(body);
      setSession(view);
      sender.windowReported(sessionWindow(view));
      if (body?.model_id) hasModel.current = true;
    });
    socket.on('frame_result', (result) => {
      sender.resultReceived(result);
      traffic.received(result, performance.now(), Date.now());
      hasModel.current = true;
      const shown = shownError.current;
      if (shown && result.label !== null && result.frame_id > shown.sentBefore && !SETTINGS_ERRORS.has(shown.code)) {
        shownError.current = null; // classified again: the error is over
        setLastError(null);
      }
      // a result of frames sent before the source went away is not shown over no video
      if (knownImageSize(settingsRef.current.imageSize)) setLastResult(result);
    });
    socket.on('error', (body) => {
      const error = toServerError(body);
      traffic.error();
      if (error.code === 'no_model') hasModel.current = false;
      shownError.current = { code: error.code, sentBefore: lastSentId.current };
      setLastError({ ...error, at: Date.now() });
    });
    socket.on('people', (body) => {
      setTracks((old) => (sameIds(old, body.tracks) ? old : body.tracks));
      peopleListener.current?.(body);
    });
    socket.on('analysis', (body) => {
      // one sent before the page chose another analyzer is not this analyzer's
      if (body.analyzer === settingsRef.current.analyzer) setAnalysis((view) => addAnalysis(view, body));
    });
    // frames were shed; the windows stay on schedule, so the batcher goes on as it is
    socket.on('warning', (body) => setLastWarning({ ...body, at: Date.now() }));
    socket.connect();

    const heartbeat = setInterval(() => socket.connected && socket.emit('heartbeat'), HEARTBEAT_INTERVAL_MS);
    return () => {
      clearTimeout(refusedRetry);
      clearInterval(heartbeat);
      manager.off('reconnect_attempt', onReconnectAttempt);
      socket.removeAllListeners();
      socket.disconnect();
      socketRef.current = null;
      senderRef.current = null;
      retryNow.current = () => undefined;
      dispatch({ type: 'stop', now: Date.now() });
    };
  }, [apiUrl, traffic, forgetPeople, configureMessage]);

  // a changed setting, or a new video size, is sent to the server right away (all settings)
  const size = knownImageSize(settings.imageSize);
  const width = size?.width ?? 0;
  const height = size?.height ?? 0;
  const { overlap, modelId, includeFeatures, analyzer, numPoses } = settings;
  const sendSettings = useCallback(() => {
    const socket = socketRef.current;
    if (socket?.connected) configure(socket, senderRef.current, configureMessage());
  }, [configureMessage]);
  useEffect(() => {
    if (width > 0) sendSettings();
    else setLastResult(null); // no video: no label shown for it
  }, [width, height, sendSettings]);
  useEffect(() => sendSettings(), [overlap, modelId, includeFeatures, analyzer, sendSettings]);
  useEffect(() => setAnalysis(null), [analyzer]); // another analyzer starts from nothing
  // the server starts a new tracker for another People setting: its ids are new
  useEffect(() => {
    forgetPeople();
    sendSettings();
  }, [numPoses, forgetPeople, sendSettings]);

  // several people: one frame per message, so each frame's people answer (and its colours) comes
  // back at once instead of at the next due window
  useEffect(
    () => senderRef.current?.setBatching(keypointsFormat === 'binary' && (numPoses ?? 1) <= 1),
    [keypointsFormat, numPoses],
  );

  const sendKeypoints = useCallback(
    (frame: PoseFrame) => {
      if (!knownImageSize(frame.imageSize)) return false; // the source went away while pose ran on it
      const socket = readySocket(socketRef.current, hasModel.current || Boolean(settingsRef.current.analyzer));
      const sender = senderRef.current;
      if (!socket || !sender) {
        traffic.notSent();
        return false;
      }
      sender.add(frame);
      return true;
    },
    [traffic],
  );

  const flushKeypoints = useCallback(() => senderRef.current?.flush(), []);

  const sendImage = useCallback(
    (image: EncodedImage) => {
      if (!knownImageSize(image.imageSize)) return;
      const socket = readySocket(socketRef.current, hasModel.current || Boolean(settingsRef.current.analyzer));
      if (!socket) return traffic.notSent();
      senderRef.current?.resync(); // the server adds the image's pose to the same window
      lastSentId.current = Math.max(lastSentId.current, image.frameId);
      traffic.sent('image', image.frameId, performance.now());
      socket.emit('frame', buildImageMessage(image.image, image.frameId, image.timestampMs));
    },
    [traffic],
  );

  const chooseSubject = useCallback(
    (trackId: number | null) => {
      subjectRef.current = trackId;
      setSubject(trackId);
      sendSettings();
    },
    [sendSettings],
  );
  const setPeopleListener = useCallback((listener: PeopleListener | null) => {
    peopleListener.current = listener;
  }, []);

  const reconnectNow = useCallback(() => retryNow.current(), []);
  // the answers (a heartbeat, `configured`) say whether the server now has a model, and its window
  const refreshServerState = useCallback(() => {
    if (socketRef.current?.connected) socketRef.current.emit('heartbeat');
    sendSettings(); // answered with the new window
  }, [sendSettings]);

  return {
    connection,
    activeModelId,
    session,
    lastResult,
    lastError,
    lastWarning,
    lastHeartbeatAt,
    analysis,
    updateAnalysis: setAnalysis,
    sendKeypoints,
    flushKeypoints,
    sendImage,
    reconnectNow,
    refreshServerState,
    tracks,
    subject,
    chooseSubject,
    setPeopleListener,
  };
}

/** A `configure` may reset the window: the frames held go first, and frames go one per message
 * until a result shows where the window stands. */
function configure(socket: LiveSocket, sender: SessionBatcher<PoseFrame> | null, message: ConfigureMessage): void {
  sender?.resync();
  socket.emit('configure', message);
}

/** The socket if frames can be sent now: connected, and the server has a model or an analyzer for us. */
function readySocket(socket: LiveSocket | null, hasModel: boolean): LiveSocket | null {
  return socket?.connected && hasModel ? socket : null;
}
