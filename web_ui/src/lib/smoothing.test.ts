import { describe, expect, it } from 'vitest';
import { LandmarkSmoother } from './smoothing';
import { noDetection } from './pose';

const frameOf = (value: number, visibility = 0.9) => {
  const data = new Float32Array(132);
  for (let i = 0; i < 33; i++) data.set([value, value, value, visibility], i * 4);
  return data;
};

describe('LandmarkSmoother (One Euro)', () => {
  it('passes the first frame through and keeps a still pose still', () => {
    const smoother = new LandmarkSmoother({ minCutoff: 1, beta: 0 });
    expect(Array.from(smoother.smooth(frameOf(0.5), 0) ?? [])).toEqual(Array.from(frameOf(0.5)));
    const later = smoother.smooth(frameOf(0.5), 33) as Float32Array;
    expect(later[0]).toBeCloseTo(0.5, 6);
  });

  it('lags behind a jump, more with a lower cutoff, and converges', () => {
    const lag = (minCutoff: number) => {
      const smoother = new LandmarkSmoother({ minCutoff, beta: 0 });
      smoother.smooth(frameOf(0), 0);
      return (smoother.smooth(frameOf(1), 33) as Float32Array)[0];
    };
    const strong = lag(1);
    const light = lag(3);
    expect(strong).toBeGreaterThan(0);
    expect(strong).toBeLessThan(light);
    expect(light).toBeLessThan(1);

    const smoother = new LandmarkSmoother({ minCutoff: 1, beta: 0 });
    smoother.smooth(frameOf(0), 0);
    let out: Float32Array = new Float32Array(132);
    for (let t = 33; t < 5000; t += 33) out = smoother.smooth(frameOf(1), t) as Float32Array;
    expect(out[0]).toBeCloseTo(1, 3);
  });

  it('follows fast motion more closely with a higher beta', () => {
    const after = (beta: number) => {
      const smoother = new LandmarkSmoother({ minCutoff: 1, beta });
      let out: Float32Array = new Float32Array(132);
      for (let k = 0; k < 10; k++) out = smoother.smooth(frameOf(k * 0.05), k * 33) as Float32Array;
      return out[0];
    };
    expect(after(5)).toBeGreaterThan(after(0));
  });

  it('passes visibility through and restarts after a frame without detection', () => {
    const smoother = new LandmarkSmoother({ minCutoff: 1, beta: 0 });
    smoother.smooth(frameOf(0, 0.2), 0);
    const next = smoother.smooth(frameOf(1, 0.7), 33) as Float32Array;
    expect(next[3]).toBeCloseTo(0.7, 6);
    expect(smoother.smooth(null, 66)).toBeNull();
    expect((smoother.smooth(frameOf(1), 99) as Float32Array)[0]).toBe(1);
  });

  it("takes the pose worker's all-NaN frame as a frame without detection", () => {
    const smoother = new LandmarkSmoother({ minCutoff: 1, beta: 0 });
    smoother.smooth(frameOf(0), 0);
    expect(smoother.smooth(noDetection(), 33)).toBeNull();
    expect((smoother.smooth(frameOf(1), 66) as Float32Array)[0]).toBe(1); // restarted, not smoothed
  });

  it('does not smooth across a long gap', () => {
    const smoother = new LandmarkSmoother({ minCutoff: 1, beta: 0 });
    smoother.smooth(frameOf(0), 0);
    expect((smoother.smooth(frameOf(1), 5000) as Float32Array)[0]).toBe(1);
  });

  it('refuses parameters that are not positive', () => {
    expect(() => new LandmarkSmoother({ minCutoff: 0, beta: 0 })).toThrow(RangeError);
  });
});
