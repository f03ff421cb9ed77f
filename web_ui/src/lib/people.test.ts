// Several people: the colour and tag of each track id, the poses kept until the server's `people`
// answer names them, and the Classify choices.
import { describe, expect, it } from 'vitest';
import {
  MAX_PEOPLE,
  PERSON_COLORS,
  PeopleBuffer,
  TENTATIVE_COLOR,
  peopleCount,
  peopleInView,
  personColor,
  personName,
  personTag,
  sameView,
  subjectChoices,
  type PeopleFrame,
  type SentPoses,
} from './people';
import { CHANNELS, LANDMARK_COUNT } from './pose';

const size = { width: 640, height: 360 };
/** A pose whose every x is `x` (to tell poses apart). */
const pose = (x: number) => new Float32Array(LANDMARK_COUNT * CHANNELS).fill(x);
const sent = (frameId: number, ...xs: number[]): SentPoses => ({ frameId, poses: xs.map(pose), imageSize: size });
const answer = (frameId: number, trackIds: (number | null)[], subject: number | null = null): PeopleFrame => ({
  frame_id: frameId,
  track_ids: trackIds,
  boxes: trackIds.map((id) => (id === null ? null : [0.1, 0.2, 0.4, 0.9])),
  subject,
});

describe('person colours and tags', () => {
  it('gives each track id its own colour, the same every time, and grey to a tentative person', () => {
    const colours = [1, 2, 3, 4].map(personColor);
    expect(new Set(colours).size).toBe(4);
    expect(personColor(3)).toBe(colours[2]);
    expect(personColor(1)).toBe(PERSON_COLORS[0]);
    expect(personColor(null)).toBe(TENTATIVE_COLOR);
    expect(PERSON_COLORS).not.toContain(TENTATIVE_COLOR);
  });

  it('cycles the palette for ids beyond it, and never fails on an odd id', () => {
    expect(personColor(PERSON_COLORS.length + 2)).toBe(personColor(2));
    expect(PERSON_COLORS).toContain(personColor(0));
    expect(PERSON_COLORS).toContain(personColor(-3));
    expect(personColor(1.5)).toBe(TENTATIVE_COLOR);
  });

  it('tags a person "#id" and names it "Person #id"', () => {
    expect(personTag(7)).toBe('#7');
    expect(personTag(null)).toBe('?');
    expect(personName(7)).toBe('Person #7');
  });

  it('keeps the People setting within 1..MAX_PEOPLE (a stored value may be stale)', () => {
    expect([1, 2, MAX_PEOPLE].map(peopleCount)).toEqual([1, 2, MAX_PEOPLE]);
    expect([0, -1, 2.5, Number.NaN].map(peopleCount)).toEqual([1, 1, 1, 1]);
    expect(peopleCount(9)).toBe(MAX_PEOPLE);
  });
});

describe('PeopleBuffer', () => {
  it("names each pose of a frame by the answer's track ids, in the order they were sent", () => {
    const buffer = new PeopleBuffer();
    buffer.add(sent(5, 0.2, 0.7));
    const frame = buffer.answer({ frames: [answer(5, [3, 1], 1)], tracks: [1, 3] });
    expect(frame?.frameId).toBe(5);
    expect(frame?.imageSize).toEqual(size);
    expect(frame?.people.map((p) => [p.landmarks[0], p.trackId, p.subject])).toEqual([
      [Math.fround(0.2), 3, false],
      [Math.fround(0.7), 1, true],
    ]);
    expect(frame?.people[0].box).toEqual([0.1, 0.2, 0.4, 0.9]);
  });

  it('draws the newest frame of a batch answer and forgets it and every older frame', () => {
    const buffer = new PeopleBuffer();
    for (const id of [1, 2, 3, 4]) buffer.add(sent(id, id / 10));
    const frame = buffer.answer({ frames: [answer(1, [1]), answer(2, [1]), answer(3, [1])], tracks: [1] });
    expect(frame?.frameId).toBe(3);
    expect(buffer.size).toBe(1); // frame 4 waits for its own answer
    expect(buffer.answer({ frames: [answer(2, [1])], tracks: [1] })).toBeNull(); // late: not drawn over 3
  });

  it('skips the frames of an answer it no longer holds, and a tentative or ignored pose is grey', () => {
    const buffer = new PeopleBuffer(2);
    for (const id of [1, 2, 3]) buffer.add(sent(id, 0.5, 0.6));
    expect(buffer.size).toBe(2); // the oldest was forgotten
    expect(buffer.answer({ frames: [answer(1, [1, 2])], tracks: [1, 2] })).toBeNull();
    const frame = buffer.answer({ frames: [answer(2, [null])], tracks: [] }); // one id for two poses
    expect(frame?.people.map((p) => [p.trackId, p.subject, p.box])).toEqual([
      [null, false, null],
      [null, false, null],
    ]);
  });

  it('answers nothing for a frame without people, and refuses a capacity below 1', () => {
    const buffer = new PeopleBuffer();
    buffer.add(sent(9));
    expect(buffer.answer({ frames: [answer(9, [])], tracks: [2] })?.people).toEqual([]);
    expect(() => new PeopleBuffer(0)).toThrow(RangeError);
  });
});

describe('who is in view, and the Classify choices', () => {
  it('lists the tracked ids of the newest frame, its subject and the tentative ones', () => {
    const view = peopleInView(answer(4, [2, null, 5], 5));
    expect(view).toEqual({ trackIds: [2, 5], subject: 5, tentative: 1 });
    expect(sameView(view, peopleInView(answer(5, [2, null, 5], 5)))).toBe(true);
    expect(sameView(view, peopleInView(answer(5, [2, 5], 5)))).toBe(false);
    expect(sameView(view, peopleInView(answer(5, [2, null, 5], 2)))).toBe(false);
  });

  it('offers the tracks alive, ascending, and keeps the chosen one while it is out of view', () => {
    expect(subjectChoices([3, 1], null)).toEqual([1, 3]);
    expect(subjectChoices([3, 1], 3)).toEqual([1, 3]);
    expect(subjectChoices([1], 4)).toEqual([1, 4]);
    expect(subjectChoices([], null)).toEqual([]);
  });
});
