// Messages between the page and the pose worker (src/workers/pose.worker.ts).
import type { PoseDelegate } from '../config';

export interface PoseWorkerInit {
  type: 'init';
  /** Folder URL of tasks-vision's WASM files (served by this app). */
  wasmBase: string;
  /** URL of the pose_landmarker_*.task bundle (served by this app). */
  modelUrl: string;
  delegate: PoseDelegate;
  /** People looked for, at most (tasks-vision `numPoses`). */
  numPoses: number;
  minPoseDetectionConfidence: number;
  minPosePresenceConfidence: number;
  minTrackingConfidence: number;
}

export interface PoseWorkerFrame {
  type: 'frame';
  /** Transferred to the worker, which closes it. */
  image: VideoFrame | ImageBitmap;
  frameId: number;
  /** ms, strictly increasing (MediaPipe's VIDEO mode requires it). */
  timestampMs: number;
}

export type PoseWorkerRequest = PoseWorkerInit | PoseWorkerFrame | { type: 'close' };

export type PoseWorkerReply =
  | { type: 'ready'; delegate: PoseDelegate; loadMs: number }
  | {
      type: 'result';
      frameId: number;
      timestampMs: number;
      /** `(poses * 33 * 4,)` x, y, z, visibility of each pose detected, in the detector's order
       * (transferred); empty when nobody was detected. */
      landmarks: Float32Array;
      /** Time of detectForVideo in the worker, ms. */
      inferenceMs: number;
    }
  | { type: 'error'; message: string; fatal: boolean; frameId?: number };
