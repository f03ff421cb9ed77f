// Several people drawn over the video: each in its track's colour with its tag, tentative ones
// grey and untagged, the classified one thicker and on top.
import { describe, expect, it } from 'vitest';
import { SKELETON_STYLE, SUBJECT_LINE_FACTOR, drawPeople } from './draw';
import { TENTATIVE_COLOR, personColor, type DrawnPerson } from './people';
import { CHANNELS, LANDMARK_COUNT } from './pose';

/** A canvas 2D context that records the skeletons stroked (colour, width) and the text drawn. */
function recordingContext() {
  const strokes: { color: string; width: number }[] = [];
  const texts: { text: string; color: string; x: number; y: number }[] = [];
  const ctx = {
    lineWidth: 1,
    strokeStyle: '',
    fillStyle: '',
    lineCap: 'butt',
    lineJoin: 'miter',
    font: '',
    textBaseline: 'alphabetic',
    clearRect: () => undefined,
    beginPath: () => undefined,
    moveTo: () => undefined,
    lineTo: () => undefined,
    arc: () => undefined,
    fill: () => undefined,
    stroke() {
      strokes.push({ color: ctx.strokeStyle, width: ctx.lineWidth });
    },
    strokeText: () => undefined,
    fillText(text: string, x: number, y: number) {
      texts.push({ text, color: ctx.fillStyle, x, y });
    },
  };
  return { ctx: ctx as unknown as CanvasRenderingContext2D, strokes, texts };
}

function pose(x: number): Float32Array {
  const data = new Float32Array(LANDMARK_COUNT * CHANNELS);
  for (let i = 0; i < LANDMARK_COUNT; i++) data.set([x + i * 0.002, 0.2 + i * 0.02, 0, 0.9], i * CHANNELS);
  return data;
}

describe('drawPeople', () => {
  const people: DrawnPerson[] = [
    { landmarks: pose(0.1), trackId: 4, subject: true, box: [0.1, 0.2, 0.2, 0.9] },
    { landmarks: pose(0.5), trackId: 1, subject: false, box: null },
    { landmarks: pose(0.8), trackId: null, subject: false, box: null },
  ];

  it('strokes each person in its colour, grey for a tentative one, the subject thicker and last', () => {
    const { ctx, strokes } = recordingContext();
    drawPeople(ctx, people, 640, 360);
    const line = Math.max(2, 360 * SKELETON_STYLE.lineScale);
    expect(strokes).toEqual([
      { color: personColor(1), width: line },
      { color: TENTATIVE_COLOR, width: line },
      { color: personColor(4), width: line * SUBJECT_LINE_FACTOR },
    ]);
  });

  it('tags each tracked person "#id" in its colour, at its box or its top-left landmark', () => {
    const { ctx, texts } = recordingContext();
    drawPeople(ctx, people, 640, 360);
    expect(texts.map((t) => [t.text, t.color])).toEqual([
      ['#1', personColor(1)],
      ['#4', personColor(4)],
    ]);
    expect(texts[0].x).toBeCloseTo(0.5 * 640, 3); // no box: the leftmost landmark
    expect(texts[1].x).toBeCloseTo(0.1 * 640, 3); // the server's box
  });

  it('draws nothing for nobody', () => {
    const { ctx, strokes, texts } = recordingContext();
    drawPeople(ctx, [], 640, 360);
    expect([strokes, texts]).toEqual([[], []]);
  });
});
