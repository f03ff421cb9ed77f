// The live statistics on screen: a LiveStatsCollector (src/lib/liveStats.ts) that the socket
// reports to on every frame, shown a few times a second rather than on every frame.
import { useEffect, useState } from 'react';
import { STATS_REFRESH_MS, TIMELINE_SECONDS } from '../config';
import { EMPTY_LIVE_STATS, LiveStatsCollector, type LiveStats } from '../lib/liveStats';
import type { TimelinePoint } from '../lib/timeline';

export interface LiveStatsView {
  /** Where the socket reports what it sends and receives. */
  collector: LiveStatsCollector;
  stats: LiveStats;
  timeline: TimelinePoint[];
}

export function useLiveStats(): LiveStatsView {
  const [collector] = useState(() => new LiveStatsCollector(TIMELINE_SECONDS));
  const [shown, setShown] = useState({ stats: EMPTY_LIVE_STATS, timeline: [] as TimelinePoint[] });
  useEffect(() => {
    const timer = setInterval(
      () => setShown({ stats: collector.stats(performance.now()), timeline: collector.timeline(Date.now()) }),
      STATS_REFRESH_MS,
    );
    return () => clearInterval(timer);
  }, [collector]);
  return { collector, ...shown };
}
