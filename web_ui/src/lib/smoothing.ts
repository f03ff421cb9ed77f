// One Euro filter (Casiez, Roussel, Vogel, CHI 2012) over all landmark coordinates at once:
// little smoothing when a joint moves fast (low lag), more when it is still (low jitter).
import { CHANNELS, type Landmarks } from './pose';

export interface OneEuroParams {
  /** Cutoff frequency at rest, Hz: lower smooths more. */
  minCutoff: number;
  /** How fast the cutoff rises with speed (per normalized unit per second). */
  beta: number;
  /** Cutoff of the speed estimate, Hz. */
  dCutoff?: number;
}

/** A gap longer than this (ms) restarts the filter instead of smoothing across it. */
const MAX_GAP_MS = 1000;

function alpha(cutoffHz: number, dtS: number): number {
  const tau = 1 / (2 * Math.PI * cutoffHz);
  return 1 / (1 + tau / dtS);
}

/** Stateful smoother: `smooth(landmarks, timestampMs)` returns filtered landmarks (a new array;
 * visibility passes through), or null for a frame without detection (null or all NaN), which
 * also resets it. */
export class LandmarkSmoother {
  private readonly minCutoff: number;
  private readonly beta: number;
  private readonly dCutoff: number;
  private value: Float64Array | null = null;
  private speed: Float64Array | null = null;
  private lastMs = 0;

  constructor({ minCutoff, beta, dCutoff = 1.0 }: OneEuroParams) {
    if (!(minCutoff > 0) || !(beta >= 0) || !(dCutoff > 0)) {
      throw new RangeError(
        `One Euro parameters must be positive: minCutoff=${minCutoff} beta=${beta} dCutoff=${dCutoff}`,
      );
    }
    this.minCutoff = minCutoff;
    this.beta = beta;
    this.dCutoff = dCutoff;
  }

  reset(): void {
    this.value = null;
    this.speed = null;
  }

  smooth(landmarks: Landmarks | null, timestampMs: number): Landmarks | null {
    if (landmarks === null || landmarks.every(Number.isNaN)) {
      this.reset();
      return null;
    }
    const dtMs = timestampMs - this.lastMs;
    if (this.value === null || this.value.length !== landmarks.length || !(dtMs > 0) || dtMs > MAX_GAP_MS) {
      this.value = Float64Array.from(landmarks);
      this.speed = new Float64Array(landmarks.length);
      this.lastMs = timestampMs;
      return Float32Array.from(landmarks);
    }
    const dtS = dtMs / 1000;
    const aSpeed = alpha(this.dCutoff, dtS);
    const value = this.value;
    const speed = this.speed as Float64Array;
    const out = new Float32Array(landmarks.length);
    for (let i = 0; i < landmarks.length; i++) {
      if (i % CHANNELS === CHANNELS - 1) {
        out[i] = landmarks[i]; // visibility is a confidence, not a position
        continue;
      }
      if (!Number.isFinite(value[i]) || !Number.isFinite(landmarks[i])) {
        value[i] = landmarks[i]; // nothing to smooth across a missing value
        speed[i] = 0;
        out[i] = landmarks[i];
        continue;
      }
      const rawSpeed = (landmarks[i] - value[i]) / dtS;
      speed[i] += aSpeed * (rawSpeed - speed[i]);
      const a = alpha(this.minCutoff + this.beta * Math.abs(speed[i]), dtS);
      value[i] += a * (landmarks[i] - value[i]);
      out[i] = value[i];
    }
    this.lastMs = timestampMs;
    return out;
  }
}
