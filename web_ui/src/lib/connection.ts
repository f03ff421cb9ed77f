// Reconnection: socket.io-client's backoff settings, when it retries, and what the user is told
// about the connection.
import type { ManagerOptions } from 'socket.io-client';
import type { ReconnectSettings } from '../config';

/** The socket.io-client Manager options that say how it reconnects. */
export type ReconnectionOptions = Pick<
  ManagerOptions,
  'reconnection' | 'reconnectionDelay' | 'reconnectionDelayMax' | 'randomizationFactor' | 'timeout'
>;

/** socket.io-client reconnects by itself with these: the delay doubles from baseMs up to maxMs,
 * each one moved by up to +-jitter of itself; a connection attempt gives up after connectTimeoutMs. */
export function reconnectionOptions(settings: ReconnectSettings): ReconnectionOptions {
  return {
    reconnection: true,
    reconnectionDelay: settings.baseMs,
    reconnectionDelayMax: settings.maxMs,
    randomizationFactor: settings.jitter,
    timeout: settings.connectTimeoutMs,
  };
}

/** Delay before retry number `attempt` (1, 2, ...) under these settings: exponential from baseMs,
 * capped at maxMs, scaled by a random factor in [1 - jitter, 1 + jitter] so many clients do not
 * retry at once. socket.io-client's backoff draws its delays the same way (and caps them at
 * maxMs). */
export function reconnectDelay(
  attempt: number,
  { baseMs, maxMs, jitter }: Pick<ReconnectSettings, 'baseMs' | 'maxMs' | 'jitter'>,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const nominal = Math.min(maxMs, baseMs * 2 ** exponent);
  const factor = 1 - jitter + 2 * jitter * random();
  return Math.round(Math.min(maxMs * (1 + jitter), Math.max(0, nominal * factor)));
}

/** What the user is told to wait before retry `attempt`: socket.io-client draws the real delay
 * within +-jitter of this nominal one (it does not say which). */
export function expectedReconnectDelay(
  attempt: number,
  settings: Pick<ReconnectSettings, 'baseMs' | 'maxMs' | 'jitter'>,
): number {
  return reconnectDelay(attempt, settings, () => 0.5);
}

export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'unreachable';

export interface ConnectionState {
  status: ConnectionStatus;
  url: string;
  /** Failed attempts in a row since the last successful connection. */
  failures: number;
  /** When the next attempt starts (ms, Date.now clock), while waiting to retry. */
  retryAt: number | null;
  /** Why the last attempt failed or the connection closed. */
  lastError: string | null;
  /** Since when the connection is in this status (ms, Date.now clock). */
  since: number;
}

export type ConnectionEvent =
  | { type: 'start'; url: string; now: number }
  | { type: 'attempt'; now: number }
  | { type: 'connected'; now: number }
  | { type: 'failed'; error: string; retryInMs: number; now: number }
  | { type: 'closed'; reason: string; retryInMs: number; now: number }
  | { type: 'stop'; now: number };

export function initialConnection(url: string, now: number): ConnectionState {
  return { status: 'idle', url, failures: 0, retryAt: null, lastError: null, since: now };
}

/** The next connection state. `unreachableAfter`: failed attempts before "unreachable". */
export function connectionReducer(
  state: ConnectionState,
  event: ConnectionEvent,
  unreachableAfter: number,
): ConnectionState {
  switch (event.type) {
    case 'start':
      return { ...initialConnection(event.url, event.now), status: 'connecting' };
    case 'attempt':
      return { ...state, retryAt: null, status: state.status === 'idle' ? 'connecting' : state.status };
    case 'connected':
      return { ...state, status: 'connected', failures: 0, retryAt: null, lastError: null, since: event.now };
    case 'failed': {
      const failures = state.failures + 1;
      const status = failures >= unreachableAfter ? 'unreachable' : 'reconnecting';
      return {
        ...state,
        status,
        failures,
        retryAt: event.now + event.retryInMs,
        lastError: event.error,
        since: status === state.status ? state.since : event.now,
      };
    }
    case 'closed':
      return {
        ...state,
        status: 'reconnecting',
        failures: 0,
        retryAt: event.now + event.retryInMs,
        lastError: event.reason,
        since: event.now,
      };
    case 'stop':
      return { ...state, status: 'idle', retryAt: null, since: event.now };
  }
}

/** One line for the user, e.g. "Server unreachable at http://...; retrying in 4 s". */
export function describeConnection(state: ConnectionState, now: number): string {
  const retry = state.retryAt === null ? '' : `; retrying in ${Math.max(0, Math.ceil((state.retryAt - now) / 1000))} s`;
  switch (state.status) {
    case 'idle':
      return 'Not connected';
    case 'connecting':
      return `Connecting to ${state.url}…`;
    case 'connected':
      return `Connected to ${state.url}`;
    case 'reconnecting':
      return `Connection lost (${state.lastError ?? 'closed'}), reconnecting${retry}`;
    case 'unreachable':
      return `Server unreachable at ${state.url}${retry}`;
  }
}
