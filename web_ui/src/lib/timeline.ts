// The classification timeline: recent results kept for a few seconds, laid out for an SVG chart.
import type { FrameResult } from './payload';

export interface TimelinePoint {
  /** ms, Date.now clock (when the result arrived) */
  t: number;
  label: string;
  probabilities: Record<string, number> | null;
}

/** Recent results, oldest first, at most `seconds` old. */
export class Timeline {
  private points: TimelinePoint[] = [];

  constructor(private readonly seconds: number) {}

  add(result: FrameResult, now: number): void {
    const answers = result.results && result.results.length > 0 ? result.results : [result];
    for (const answer of answers) {
      if (answer.label === null || answer.label === undefined) continue;
      this.points.push({ t: now, label: answer.label, probabilities: answer.probabilities ?? null });
    }
    this.prune(now);
  }

  snapshot(now: number): TimelinePoint[] {
    this.prune(now);
    return this.points.slice();
  }

  clear(): void {
    this.points = [];
  }

  private prune(now: number): void {
    const oldest = now - this.seconds * 1000;
    let drop = 0;
    while (drop < this.points.length && this.points[drop].t < oldest) drop++;
    if (drop) this.points.splice(0, drop);
  }
}

/** Classes in a stable order: the model's, then any other label seen. */
export function timelineClasses(modelClasses: readonly string[] | null, points: readonly TimelinePoint[]): string[] {
  const classes = [...(modelClasses ?? [])];
  for (const point of points) {
    if (!classes.includes(point.label)) classes.push(point.label);
    for (const name of Object.keys(point.probabilities ?? {})) if (!classes.includes(name)) classes.push(name);
  }
  return classes;
}

/** Colour-blind friendly palette (Okabe-Ito), by class index. */
export const CLASS_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

export function classColor(index: number): string {
  return CLASS_COLORS[((index % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length];
}

export interface ChartGeometry {
  /** Per class, an SVG polyline `points` attribute of its probability over time. */
  lines: { label: string; points: string }[];
  /** Coloured bands of the predicted label over time. */
  bands: { label: string; x: number; width: number }[];
}

/** Lay out `points` in a width x plotHeight box: x = time (right edge = now), y = probability. */
export function chartGeometry(
  points: readonly TimelinePoint[],
  classes: readonly string[],
  now: number,
  seconds: number,
  width: number,
  plotHeight: number,
): ChartGeometry {
  const span = seconds * 1000;
  const x = (t: number) => Math.max(0, Math.min(width, width - ((now - t) / span) * width));
  const lines = classes
    .map((label) => ({
      label,
      points: points
        .filter((p) => p.probabilities && label in p.probabilities)
        .map(
          (p) =>
            `${x(p.t).toFixed(1)},${(plotHeight - (p.probabilities as Record<string, number>)[label] * plotHeight).toFixed(1)}`,
        )
        .join(' '),
    }))
    .filter((line) => line.points.length > 0);
  const bands: ChartGeometry['bands'] = [];
  points.forEach((point, i) => {
    const start = x(point.t);
    const end = i + 1 < points.length ? x(points[i + 1].t) : width;
    const last = bands[bands.length - 1];
    if (last && last.label === point.label && Math.abs(last.x + last.width - start) < 0.01) {
      last.width = end - last.x;
    } else {
      bands.push({ label: point.label, x: start, width: Math.max(0, end - start) });
    }
  });
  return { lines, bands };
}
