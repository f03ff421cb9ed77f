// The StrideBatcher of one live session, kept in step with the server's window.
//
// The server resets a session's window whenever its model, window size or stride changes
// (stream_pose_ml/serving/service.py `_resolve`): at a `configure` that changes them, or at the
// first message after the active model was switched, which this page cannot see happen. So the
// batcher trusts what the server says:
//  - until the window's size and stride are reported (`configured`, `heartbeat`), after they
//    change, and after each `configure` this page sends (`resync`, after the frames held),
//    frames go one per message, which never delays a result;
//  - every `frame_result` for a frame sent since then tells where the window stands: a progress
//    result (label null) how many frames it holds, a classification that its frame ended a
//    window. From then on frames are held until the next due window (StrideBatcher), and a later
//    result that disagrees (the server reset without telling) puts the batcher right again.
// The frames the server receives are the same in every case; only when they leave changes.
import { MAX_FRAMES_PER_MESSAGE } from '../config';
import { StrideBatcher } from './batching';
import type { FrameResult } from './payload';

/** The server's window for this session, as `configured` and `heartbeat` report it. */
export interface SessionWindow {
  modelId: string | null;
  size: number;
  stride: number;
}

/** What a `frame_result` says about the window (its top-level fields: the newest window). */
export type WindowResult = Pick<FrameResult, 'frame_id' | 'label' | 'window_fill' | 'window_size' | 'model_id'>;

export interface SessionBatcherOutput<T> {
  /** Send these frames, oldest first, in one message. */
  send: (frames: T[]) => void;
  /** The results show another window than the one reported: ask the server (a `heartbeat`). */
  askWindow: () => void;
}

/** Positions kept for frames not answered yet; older ones are forgotten. */
const POSITIONS_KEPT = 4 * MAX_FRAMES_PER_MESSAGE;

/** The position of the due frame `position` belongs with: a classification at `position` means
 * the server's window ends there; any position with that phase predicts the same later windows. */
function duePosition(position: number, size: number, stride: number): number {
  if (position < size - 1) return size - 1;
  return position - ((position + 1 - size) % stride);
}

function sameWindow(a: SessionWindow, b: SessionWindow | null): boolean {
  return b !== null && a.modelId === b.modelId && a.size === b.size && a.stride === b.stride;
}

/** A session's frames -> messages. `batching` false sends one frame per message (JSON). */
export class SessionBatcher<T extends { frameId: number }> {
  private window: SessionWindow | null = null;
  /** Null: one frame per message (window unknown, not anchored by a result, or not batching). */
  private batcher: StrideBatcher<T> | null = null;
  /** Frames the server's window has taken since its reset (held ones included), as far as known. */
  private framesSeen = 0;
  /** Frame id -> its position in the window, for frames sent since the window was reported. */
  private readonly positions = new Map<number, number>();
  /** Asked the server for its window and not answered yet. */
  private asking = false;

  constructor(
    private readonly out: SessionBatcherOutput<T>,
    private batching = true,
    private readonly maxFrames = MAX_FRAMES_PER_MESSAGE,
  ) {}

  /** Frames held for the next due window. */
  get held(): number {
    return this.batcher?.held ?? 0;
  }

  /** Whether frames are held until due windows now (else one per message). */
  get aligned(): boolean {
    return this.batcher !== null;
  }

  /** A new session: its window is empty, its size and stride not known yet. */
  sessionStarted(): void {
    this.drop();
    this.window = null;
    this.framesSeen = 0;
    this.positions.clear();
    this.asking = false;
  }

  /** The window the server reports. A change: the server reset it where this page cannot tell. */
  windowReported(window: SessionWindow | null): void {
    this.asking = false;
    if (window === null || sameWindow(window, this.window)) return;
    this.window = window;
    this.unanchor();
  }

  /** One frame per message until a result anchors the batcher again: a `configure` is on its
   * way (it may reset the window), or frames reached the window another way (images). */
  resync(): void {
    this.unanchor();
  }

  /** Batch (binary) or send one frame per message (JSON). */
  setBatching(batching: boolean): void {
    if (batching === this.batching) return;
    this.batching = batching;
    this.unanchor();
  }

  add(frame: T): void {
    this.positions.set(frame.frameId, this.framesSeen);
    if (this.positions.size > POSITIONS_KEPT) this.positions.delete(this.positions.keys().next().value as number);
    if (this.batcher === null) {
      this.framesSeen += 1;
      this.out.send([frame]);
      return;
    }
    const due = this.batcher.add(frame);
    this.framesSeen = this.batcher.framesSeen;
    if (due) this.out.send(due);
  }

  /** Send what is held now (the source paused or stopped, a `configure` follows). */
  flush(): void {
    const held = this.batcher?.flush();
    if (held) this.out.send(held);
  }

  /** Forget what is held (its session is gone); returns how many frames. */
  drop(): number {
    const held = this.batcher?.flush()?.length ?? 0;
    this.framesSeen -= held;
    this.batcher = null;
    return held;
  }

  resultReceived(result: WindowResult): void {
    const position = this.positions.get(result.frame_id);
    if (position === undefined) return; // sent before the window was reported (or forgotten)
    for (const id of this.positions.keys()) {
      if (id > result.frame_id) break; // frame ids rise; results come in their order
      this.positions.delete(id);
    }
    const window = this.window;
    if (window === null) return;
    const otherModel = result.model_id !== null && window.modelId !== null && result.model_id !== window.modelId;
    if (result.window_size !== window.size || otherModel) {
      this.unanchor();
      if (!this.asking) this.out.askWindow();
      this.asking = true;
      return;
    }
    const serverPosition =
      result.label === null
        ? Math.round(result.window_fill * result.window_size) - 1 // frames in the window, less one
        : duePosition(position, window.size, window.stride);
    const shift = serverPosition - position;
    if (shift === 0 && (this.batcher !== null || !this.batching)) return; // in step
    this.flush();
    this.framesSeen += shift;
    for (const [id, p] of this.positions) this.positions.set(id, p + shift);
    this.batcher = this.batching
      ? new StrideBatcher<T>(window.size, window.stride, this.framesSeen, this.maxFrames)
      : null;
  }

  /** Held frames leave now; then one frame per message until a result for a frame sent from now
   * on anchors the batcher. */
  private unanchor(): void {
    this.flush();
    this.batcher = null;
    this.positions.clear();
  }
}
