// Drawing the skeleton over the video (canvas 2D), sized in the video's own pixels: one person, or
// several in the colours of their track ids (lib/people.ts).
import { personColor, personTag, type DrawnPerson } from './people';
import { CHANNELS, LANDMARK_COUNT, SKELETON_EDGES, type Landmarks } from './pose';

export interface SkeletonStyle {
  /** Landmarks below this visibility are not drawn. */
  minVisibility: number;
  lineColor: string;
  pointColor: string;
  /** Line width and point radius as a fraction of the image height. */
  lineScale: number;
}

export const SKELETON_STYLE: SkeletonStyle = {
  minVisibility: 0.3,
  lineColor: 'rgba(0, 230, 180, 0.95)',
  pointColor: 'rgba(255, 90, 60, 0.95)',
  lineScale: 0.006,
};

function visible(landmarks: Landmarks, i: number, min: number): boolean {
  const v = landmarks[i * CHANNELS + 3];
  return Number.isFinite(landmarks[i * CHANNELS]) && (Number.isNaN(v) || v >= min);
}

/** Clear `ctx` (width x height pixels) and draw the skeleton; nothing for null landmarks. */
export function drawSkeleton(
  ctx: CanvasRenderingContext2D,
  landmarks: Landmarks | null,
  width: number,
  height: number,
  style: SkeletonStyle = SKELETON_STYLE,
): void {
  ctx.clearRect(0, 0, width, height);
  if (landmarks) strokeSkeleton(ctx, landmarks, width, height, style);
}

/** The skeleton of one person, over what `ctx` holds. */
function strokeSkeleton(
  ctx: CanvasRenderingContext2D,
  landmarks: Landmarks,
  width: number,
  height: number,
  style: SkeletonStyle,
): void {
  const line = Math.max(2, height * style.lineScale);
  ctx.lineWidth = line;
  ctx.lineCap = 'round';
  ctx.strokeStyle = style.lineColor;
  ctx.beginPath();
  for (const [a, b] of SKELETON_EDGES) {
    if (!visible(landmarks, a, style.minVisibility) || !visible(landmarks, b, style.minVisibility)) continue;
    ctx.moveTo(landmarks[a * CHANNELS] * width, landmarks[a * CHANNELS + 1] * height);
    ctx.lineTo(landmarks[b * CHANNELS] * width, landmarks[b * CHANNELS + 1] * height);
  }
  ctx.stroke();
  ctx.fillStyle = style.pointColor;
  ctx.beginPath();
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    if (!visible(landmarks, i, style.minVisibility)) continue;
    const x = landmarks[i * CHANNELS] * width;
    const y = landmarks[i * CHANNELS + 1] * height;
    ctx.moveTo(x + line * 1.2, y);
    ctx.arc(x, y, line * 1.2, 0, 2 * Math.PI);
  }
  ctx.fill();
}

/** How much thicker the classified person is drawn. */
export const SUBJECT_LINE_FACTOR = 2;

/** The style of one person: lines and points in its track's colour, the subject thicker. */
export function personStyle(person: Pick<DrawnPerson, 'trackId' | 'subject'>, base: SkeletonStyle = SKELETON_STYLE) {
  const color = personColor(person.trackId);
  const lineScale = person.subject ? base.lineScale * SUBJECT_LINE_FACTOR : base.lineScale;
  return { ...base, lineColor: color, pointColor: color, lineScale };
}

/** Top-left corner of the visible landmarks, normalized (where the tag goes without a box). */
function topLeft(landmarks: Landmarks, min: number): [number, number] | null {
  let x = Infinity;
  let y = Infinity;
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    if (!visible(landmarks, i, min)) continue;
    x = Math.min(x, landmarks[i * CHANNELS]);
    y = Math.min(y, landmarks[i * CHANNELS + 1]);
  }
  return Number.isFinite(x) && Number.isFinite(y) ? [x, y] : null;
}

/** Clear `ctx` and draw each person in its colour with its tag ("#3") above its top-left corner;
 * tentative people grey and untagged, the subject thicker and last (on top). */
export function drawPeople(
  ctx: CanvasRenderingContext2D,
  people: readonly DrawnPerson[],
  width: number,
  height: number,
  style: SkeletonStyle = SKELETON_STYLE,
): void {
  ctx.clearRect(0, 0, width, height);
  const ordered = [...people].sort((a, b) => Number(a.subject) - Number(b.subject));
  for (const person of ordered) strokeSkeleton(ctx, person.landmarks, width, height, personStyle(person, style));
  const fontPx = Math.max(12, Math.round(height * 0.045));
  ctx.font = `bold ${fontPx}px system-ui, sans-serif`;
  ctx.textBaseline = 'bottom';
  ctx.lineJoin = 'round';
  for (const person of ordered) {
    if (person.trackId === null) continue;
    const corner = person.box ? [person.box[0], person.box[1]] : topLeft(person.landmarks, style.minVisibility);
    if (!corner) continue;
    const x = Math.max(0, corner[0] * width);
    const y = Math.max(fontPx, corner[1] * height - fontPx * 0.3);
    const tag = personTag(person.trackId);
    ctx.lineWidth = Math.max(2, fontPx / 5);
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.8)';
    ctx.strokeText(tag, x, y);
    ctx.fillStyle = personColor(person.trackId);
    ctx.fillText(tag, x, y);
  }
}
