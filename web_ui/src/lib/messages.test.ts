// @vitest-environment node
// The Socket.IO message types come from the schema the server's tests use
// (schemas/socket-messages.schema.json): the committed messages.gen.ts is that schema's. The
// messages this page builds are checked against it in payload.test.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TYPES_PATH, generateMessageTypes } from '../../scripts/schema-types.mjs';
import { schemaErrors } from '../test/schema';
import type { FrameResult } from './payload';

describe('messages.gen.ts', () => {
  it('is what `npm run schema:types` generates from the schema now', async () => {
    expect(readFileSync(TYPES_PATH, 'utf8')).toBe(await generateMessageTypes());
  }, 30_000);
});

describe('the schema', () => {
  it("takes docs/api.md's frame_result example, alone and as several windows", () => {
    const example: FrameResult = {
      label: 'Successful Weight Transfer',
      classification: 'Successful Weight Transfer',
      probabilities: { 'Failure Weight Transfer': 0.08, 'Successful Weight Transfer': 0.92 },
      frame_id: 120,
      timestamp: 4000.0,
      window_fill: 1.0,
      window_size: 30,
      processing_ms: 2.1,
      dropped: 0,
      model_id: 'a9e96998f0c8259c',
      backend: 'in_process',
    };
    expect(schemaErrors('FrameResult', example)).toEqual([]);
    expect(schemaErrors('FrameResult', { ...example, results: [example, example] })).toEqual([]);
    expect(schemaErrors('FrameResult', { ...example, label: 3 })).not.toEqual([]);
  });

  it('refuses what the server refuses', () => {
    const point = { x: 0.5, y: 0.5, z: 0, visibility: 1 };
    expect(schemaErrors('KeypointsMessage', { landmarks: Array(33).fill(point) })).toEqual([]);
    expect(schemaErrors('KeypointsMessage', { landmarks: Array(32).fill(point) })).not.toEqual([]);
    expect(schemaErrors('KeypointsMessage', { landmarks: [], frame_id: -1 })).not.toEqual([]);
    expect(
      schemaErrors('KeypointsMessage', { landmarks: [{ ...point, x: null }, ...Array(32).fill(point)] }),
    ).not.toEqual([]);
    expect(schemaErrors('ConfigureMessage', { overlap: 2, stride: 3 })).not.toEqual([]);
    expect(schemaErrors('ConfigureMessage', { frame_rate: 30 })).not.toEqual([]);
  });
});
