import { describe, expect, it } from 'vitest';
import {
  connectionReducer,
  describeConnection,
  expectedReconnectDelay,
  initialConnection,
  reconnectDelay,
  reconnectionOptions,
  type ConnectionState,
} from './connection';

const settings = { baseMs: 500, maxMs: 8000, jitter: 0.25 };

describe('reconnectDelay', () => {
  it('doubles from the base delay up to the cap', () => {
    const middle = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 5, 6, 10, 100].map((n) => reconnectDelay(n, settings, middle))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000, 8000,
    ]);
  });

  it('spreads retries by the jitter factor', () => {
    expect(reconnectDelay(2, settings, () => 0)).toBe(750);
    expect(reconnectDelay(2, settings, () => 1)).toBe(1250);
    for (let i = 0; i < 200; i++) {
      const delay = reconnectDelay(7, settings);
      expect(delay).toBeGreaterThanOrEqual(6000);
      expect(delay).toBeLessThanOrEqual(10000);
    }
  });
});

describe('socket.io-client reconnection', () => {
  it('is configured from the reconnect settings', () => {
    expect(reconnectionOptions({ ...settings, unreachableAfter: 2, connectTimeoutMs: 5000 })).toEqual({
      reconnection: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 8000,
      randomizationFactor: 0.25,
      timeout: 5000,
    });
  });

  it('tells the user the nominal delay of each retry', () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => expectedReconnectDelay(n, settings))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000,
    ]);
  });
});

describe('connectionReducer', () => {
  const step = (state: ConnectionState, ...events: Parameters<typeof connectionReducer>[1][]) =>
    events.reduce((s, e) => connectionReducer(s, e, 2), state);
  const start = step(initialConnection('http://api', 0), { type: 'start', url: 'http://api', now: 0 });

  it('goes connecting -> connected', () => {
    expect(start.status).toBe('connecting');
    const connected = step(start, { type: 'connected', now: 10 });
    expect(connected).toMatchObject({ status: 'connected', failures: 0, lastError: null, since: 10 });
  });

  it('says the server is unreachable after repeated failures, and counts them', () => {
    const once = step(start, { type: 'failed', error: 'xhr poll error', retryInMs: 500, now: 100 });
    expect(once).toMatchObject({ status: 'reconnecting', failures: 1, retryAt: 600, lastError: 'xhr poll error' });
    const twice = step(
      once,
      { type: 'attempt', now: 600 },
      { type: 'failed', error: 'websocket error', retryInMs: 1000, now: 700 },
    );
    expect(twice).toMatchObject({ status: 'unreachable', failures: 2, retryAt: 1700, since: 700 });
    const thrice = step(twice, { type: 'failed', error: 'websocket error', retryInMs: 2000, now: 1800 });
    expect(thrice).toMatchObject({ status: 'unreachable', failures: 3, since: 700 });
    expect(step(thrice, { type: 'connected', now: 5000 })).toMatchObject({
      status: 'connected',
      failures: 0,
      retryAt: null,
    });
  });

  it('reports a lost connection and retries soon', () => {
    const connected = step(start, { type: 'connected', now: 10 });
    const lost = step(connected, { type: 'closed', reason: 'transport close', retryInMs: 400, now: 50 });
    expect(lost).toMatchObject({ status: 'reconnecting', failures: 0, retryAt: 450, lastError: 'transport close' });
  });

  it('describes each state in words', () => {
    const failed = step(
      start,
      { type: 'failed', error: 'x', retryInMs: 4000, now: 0 },
      { type: 'failed', error: 'x', retryInMs: 4000, now: 0 },
    );
    expect(describeConnection(failed, 1000)).toBe('Server unreachable at http://api; retrying in 3 s');
    expect(describeConnection(step(start, { type: 'connected', now: 0 }), 0)).toBe('Connected to http://api');
    expect(describeConnection(step(start, { type: 'stop', now: 0 }), 0)).toBe('Not connected');
  });
});
