// Drawing the skeleton over the video (canvas 2D), sized in the video's own pixels.
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
  if (!landmarks) return;
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
