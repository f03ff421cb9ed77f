import { useEffect, useState } from 'react';
import { chartGeometry, classColor, timelineClasses, type TimelinePoint } from '../lib/timeline';

interface Props {
  points: TimelinePoint[];
  /** The model's classes; labels of an earlier model still on the chart follow them. */
  classes: string[];
  seconds: number;
}

const WIDTH = 480;
const PLOT_HEIGHT = 90;
const BAND_HEIGHT = 14;

/** Probabilities of each class over the last seconds (lines) and the predicted label (band);
 * after a model switch the earlier model's classes keep their lines, colours and legend. */
export function TimelineChart({ points, classes: modelClasses, seconds }: Props) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  const classes = timelineClasses(modelClasses, points);
  const { lines, bands } = chartGeometry(points, classes, now, seconds, WIDTH, PLOT_HEIGHT);
  const color = (label: string) => classColor(classes.indexOf(label));
  return (
    <figure className="timeline">
      <svg
        viewBox={`0 0 ${WIDTH} ${PLOT_HEIGHT + BAND_HEIGHT + 4}`}
        role="img"
        aria-label={`Classification timeline, last ${seconds} seconds`}
        preserveAspectRatio="none"
      >
        <rect x={0} y={0} width={WIDTH} height={PLOT_HEIGHT} className="plot-bg" />
        {[0.25, 0.5, 0.75].map((p) => (
          <line key={p} x1={0} x2={WIDTH} y1={PLOT_HEIGHT * (1 - p)} y2={PLOT_HEIGHT * (1 - p)} className="grid" />
        ))}
        {lines.map((line) => (
          <polyline
            key={line.label}
            points={line.points}
            fill="none"
            stroke={color(line.label)}
            strokeWidth={2}
            vectorEffect="non-scaling-stroke"
          />
        ))}
        {bands.map((band, i) => (
          <rect key={i} x={band.x} y={PLOT_HEIGHT + 4} width={band.width} height={BAND_HEIGHT} fill={color(band.label)}>
            <title>{band.label}</title>
          </rect>
        ))}
      </svg>
      <figcaption className="legend">
        <span className="muted">−{seconds} s</span>
        {classes.map((label) => (
          <span key={label} className="legend-item">
            <span className="swatch" style={{ background: color(label) }} aria-hidden="true" />
            {label}
          </span>
        ))}
        <span className="muted">now</span>
      </figcaption>
    </figure>
  );
}
