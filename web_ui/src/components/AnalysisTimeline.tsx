import type { MouseEvent } from 'react';
import { timeToX, xToTime, type Timeline } from '../lib/jobs';

const WIDTH = 800;
const ROW = 28;
const COLOURS = ['#2b7bb9', '#d9822b', '#3a9a5b', '#b93a6a', '#7a5bb9', '#8a8a2b'];

/** timeline.json drawn as SVG rows (labels as bands, series as lines, events as marks); a click seeks. */
export function AnalysisTimeline({
  timeline,
  currentTime,
  onSeek,
}: {
  timeline: Timeline;
  currentTime: number;
  onSeek: (seconds: number) => void;
}) {
  const duration = timeline.duration_s;
  const rows = 2 + timeline.series.length;
  const height = rows * ROW;
  const x = (t: number) => timeToX(t, duration, WIDTH);
  const labelNames = [...new Set(timeline.labels.map((l) => l.label))];
  function click(event: MouseEvent<SVGSVGElement>) {
    const box = event.currentTarget.getBoundingClientRect();
    onSeek(xToTime(((event.clientX - box.left) / box.width) * WIDTH, duration, WIDTH));
  }
  return (
    <svg
      data-testid="job-timeline"
      role="img"
      aria-label="Analysis timeline: click to seek"
      viewBox={`0 0 ${WIDTH} ${height}`}
      width="100%"
      preserveAspectRatio="none"
      style={{ cursor: 'pointer', background: '#f6f6f6' }}
      onClick={click}
    >
      {timeline.labels.map((l, i) => (
        <rect
          key={`l${i}`}
          x={x(l.start_s)}
          y={0}
          width={Math.max(1, x(l.end_s) - x(l.start_s))}
          height={ROW - 4}
          fill={COLOURS[labelNames.indexOf(l.label) % COLOURS.length]}
        >
          <title>{l.label}</title>
        </rect>
      ))}
      {timeline.events.map((e, i) => (
        <rect
          key={`e${i}`}
          x={x(e.start_s)}
          y={ROW}
          width={Math.max(2, x(e.end_s) - x(e.start_s))}
          height={ROW - 4}
          fill={e.errors.length ? '#c0392b' : '#27ae60'}
        >
          <title>{`${e.analyzer} ${e.kind}: ${e.text}`}</title>
        </rect>
      ))}
      {timeline.series.map((s, row) => {
        const values = s.v.filter((v): v is number => v != null);
        const lo = Math.min(...values);
        const hi = Math.max(...values);
        const y0 = (row + 2) * ROW;
        const y = (v: number) => y0 + ROW - 4 - (hi > lo ? ((v - lo) / (hi - lo)) * (ROW - 6) : (ROW - 6) / 2);
        const points = s.t
          .map((t, i) => (s.v[i] == null ? null : `${x(t).toFixed(1)},${y(s.v[i] as number).toFixed(1)}`))
          .filter(Boolean)
          .join(' ');
        return (
          <g key={s.key}>
            <polyline points={points} fill="none" stroke={COLOURS[row % COLOURS.length]} strokeWidth={1} />
            <text x={4} y={y0 + 12} fontSize={10}>
              {s.label}
              {s.unit ? ` (${s.unit})` : ''}
            </text>
          </g>
        );
      })}
      <line
        data-testid="timeline-cursor"
        x1={x(currentTime)}
        x2={x(currentTime)}
        y1={0}
        y2={height}
        stroke="#000"
        strokeWidth={1.5}
      />
    </svg>
  );
}
