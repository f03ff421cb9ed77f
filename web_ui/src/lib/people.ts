// Several people on the live page (docs/api.md, "Several people"): the server tracks them (the
// browser never does) and answers every `keypoints` message with a `people` event naming each
// pose the page sent. PeopleBuffer keeps the poses sent until that answer arrives, so that each
// person is drawn in the colour of its track id; the palette, the labels and the Classify choices
// are here too.
import { MAX_FRAMES_PER_MESSAGE } from '../config';
import type { Box, People } from './messages.gen';
import type { ImageSize, Landmarks } from './pose';

/** People the pose model looks for, at most (tasks-vision `numPoses`; the server takes 1..5). */
export const MAX_PEOPLE = 4;
/** Frames kept waiting for their `people` answer: two full messages. */
export const PEOPLE_FRAMES_KEPT = 2 * MAX_FRAMES_PER_MESSAGE;

/** A keypoint box `[x0, y0, x1, y1]`, normalized like the landmarks. */
export type PersonBox = Box;
/** A `people` event: one per `keypoints` or `frame` message while `num_poses` > 1. */
export type PeopleMessage = People;
/** What the server's tracker made of one frame's poses: `track_ids[i]` names pose i as sent. */
export type PeopleFrame = People['frames'][number];

// -- colours and labels ----------------------------------------------------------------------

/** Opaque colours that stand out on video, one per track id (id 1 is the first). */
export const PERSON_COLORS: readonly string[] = [
  '#00c8ff',
  '#ffb000',
  '#ff4fa3',
  '#7cff4f',
  '#a77bff',
  '#ff5a3c',
  '#3cffc8',
  '#fff04f',
];
/** A tentative person (not tracked yet, or beyond the server's num_poses). */
export const TENTATIVE_COLOR = '#9aa3ab';

/** The colour of track `trackId`; grey for null (tentative). */
export function personColor(trackId: number | null): string {
  if (trackId === null || !Number.isInteger(trackId)) return TENTATIVE_COLOR;
  const n = PERSON_COLORS.length;
  return PERSON_COLORS[(((trackId - 1) % n) + n) % n];
}

/** "#3", as drawn beside the person; "?" for a tentative one. */
export function personTag(trackId: number | null): string {
  return trackId === null ? '?' : `#${trackId}`;
}

/** "Person #3", as the results and the Classify choice name it. */
export function personName(trackId: number): string {
  return `Person #${trackId}`;
}

/** The People setting as the page uses it: an integer 1..MAX_PEOPLE (a stored value may be stale). */
export function peopleCount(value: number): number {
  return Number.isInteger(value) && value >= 1 ? Math.min(value, MAX_PEOPLE) : 1;
}

/** The ids the Classify choice lists: the tracks alive, and the chosen one while it is not (it may
 * come back), ascending. */
export function subjectChoices(tracks: readonly number[], subject: number | null): number[] {
  const ids = new Set(tracks);
  if (subject !== null) ids.add(subject);
  return [...ids].sort((a, b) => a - b);
}

/** Whether two id lists hold the same ids in the same order (a new `tracks` list re-renders only
 * when it differs). */
export function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

// -- poses sent, answers drawn -----------------------------------------------------------------

/** One frame's poses as they were sent (the detector's order). */
export interface SentPoses {
  frameId: number;
  poses: readonly Landmarks[];
  imageSize: ImageSize;
}

/** One person to draw. */
export interface DrawnPerson {
  landmarks: Landmarks;
  /** null: tentative (grey). */
  trackId: number | null;
  /** Its pose joined the window (drawn thicker). */
  subject: boolean;
  /** Its keypoint box from the server, if any (where the tag goes). */
  box: PersonBox | null;
}

/** A frame to draw: its people coloured by the server's answer. */
export interface DrawnFrame {
  frameId: number;
  imageSize: ImageSize;
  people: DrawnPerson[];
}

/** The people of `sent`, named by `answer` (same order). */
export function namePeople(sent: SentPoses, answer: PeopleFrame): DrawnPerson[] {
  return sent.poses.map((landmarks, i) => {
    const trackId = answer.track_ids[i] ?? null;
    return {
      landmarks,
      trackId,
      subject: trackId !== null && trackId === answer.subject,
      box: answer.boxes[i] ?? null,
    };
  });
}

/** People of a frame the server has not seen (nothing sent): all grey. */
export function untrackedPeople(poses: readonly Landmarks[]): DrawnPerson[] {
  return poses.map((landmarks) => ({ landmarks, trackId: null, subject: false, box: null }));
}

/** The tracked ids of a frame, and which is classified, as the legend shows them. */
export interface PeopleInView {
  trackIds: number[];
  subject: number | null;
  /** Poses without an id (tentative). */
  tentative: number;
}

export const NOBODY_IN_VIEW: PeopleInView = { trackIds: [], subject: null, tentative: 0 };

/** What the newest frame of an answer shows. */
export function peopleInView(answer: PeopleFrame): PeopleInView {
  const trackIds = answer.track_ids.filter((id): id is number => id !== null);
  return { trackIds, subject: answer.subject, tentative: answer.track_ids.length - trackIds.length };
}

export function sameView(a: PeopleInView, b: PeopleInView): boolean {
  return a.subject === b.subject && a.tentative === b.tentative && sameIds(a.trackIds, b.trackIds);
}

/** The poses of the frames sent and not answered yet, by frame id (ids rise; the oldest are
 * forgotten beyond `capacity`). */
export class PeopleBuffer {
  private readonly frames = new Map<number, SentPoses>();

  constructor(private readonly capacity = PEOPLE_FRAMES_KEPT) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.frames.size;
  }

  add(sent: SentPoses): void {
    this.frames.set(sent.frameId, sent);
    while (this.frames.size > this.capacity) this.frames.delete(this.frames.keys().next().value as number);
  }

  /** The newest frame of `message` still held, named by its answer; it and every older frame
   * are forgotten (an older one would be drawn over a newer). Null when none is held. */
  answer(message: PeopleMessage): DrawnFrame | null {
    for (let i = message.frames.length - 1; i >= 0; i--) {
      const answer = message.frames[i];
      const sent = this.frames.get(answer.frame_id);
      if (!sent) continue;
      for (const id of this.frames.keys()) {
        if (id > answer.frame_id) break;
        this.frames.delete(id);
      }
      return { frameId: sent.frameId, imageSize: sent.imageSize, people: namePeople(sent, answer) };
    }
    return null;
  }

  clear(): void {
    this.frames.clear();
  }
}
