// The live connection and what comes back: connection state, this session on the server, the
// last result and error, the statistics, this session's overlap, analyzer and people. ConnectionStatus,
// ClassificationPanel and the model list read it; the pose sends frames through it.
import { createContext, useContext, useState, type ReactNode } from 'react';
import { STORAGE_KEYS } from '../config';
import { useApiUrl } from '../hooks/useApiUrl';
import { useLiveStats } from '../hooks/useLiveStats';
import { useSocket, type LiveConnection } from '../hooks/useSocket';
import { useStoredSettings } from '../hooks/useStoredSettings';
import { isAnalyzerName, type AnalyzerName } from '../lib/analysis';
import type { LiveStats } from '../lib/liveStats';
import { peopleCount } from '../lib/people';
import type { TimelinePoint } from '../lib/timeline';
import { required } from './required';
import { useSource } from './SourceContext';

export interface Live extends LiveConnection {
  apiUrl: string;
  /** Use another API URL; says what is wrong with `text`, or null. */
  changeApiUrl: (text: string) => string | null;
  connected: boolean;
  stats: LiveStats;
  timeline: TimelinePoint[];
  /** Frames shared by consecutive windows of this session; null: the model's. */
  overlap: number | null;
  setOverlap: (overlap: number | null) => void;
  /** The session's movement analyzer (stored); null: none. */
  analyzer: AnalyzerName | null;
  setAnalyzer: (analyzer: AnalyzerName | null) => void;
  /** People the pose model looks for and the server tracks, 1..MAX_PEOPLE (stored). */
  numPoses: number;
  setNumPoses: (people: number) => void;
}

/** The live page's stored settings (lib/storage.ts keeps a saved value of its default's type:
 * the analyzer is a name, '' for none). */
export interface LiveSettings {
  analyzer: string;
  numPoses: number;
}

const DEFAULT_LIVE_SETTINGS: LiveSettings = { analyzer: '', numPoses: 1 };

export const LiveContext = createContext<Live | null>(null);

export function useLive(): Live {
  return required(useContext(LiveContext), 'useLive', 'LiveProvider');
}

/** Inside SourceProvider: the server is told the video's size; keypoints go in its format. */
export function LiveProvider({ children }: { children: ReactNode }) {
  const [apiUrl, changeApiUrl] = useApiUrl();
  const [overlap, setOverlap] = useState<number | null>(null);
  const [liveSettings, setLiveSettings] = useStoredSettings(STORAGE_KEYS.live, DEFAULT_LIVE_SETTINGS);
  const analyzer = isAnalyzerName(liveSettings.analyzer) ? liveSettings.analyzer : null; // a saved name may be stale
  const numPoses = peopleCount(liveSettings.numPoses);
  const { imageSize, settings } = useSource();
  const { collector, stats, timeline } = useLiveStats();
  // this page follows the server's active model and does not ask for feature rows
  const connection = useSocket(
    apiUrl,
    { imageSize, overlap, modelId: null, includeFeatures: false, analyzer, numPoses },
    collector,
    settings.keypointsFormat,
  );
  // a new value whenever this renders: each render here follows a change of what it provides
  const value: Live = {
    ...connection,
    apiUrl,
    changeApiUrl,
    connected: connection.connection.status === 'connected',
    stats,
    timeline,
    overlap,
    setOverlap,
    analyzer,
    setAnalyzer: (name) => setLiveSettings({ analyzer: name ?? '' }),
    numPoses,
    setNumPoses: (people) => setLiveSettings({ numPoses: peopleCount(people) }),
  };
  return <LiveContext value={value}>{children}</LiveContext>;
}
