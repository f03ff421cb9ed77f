// Start and Pause: nothing is captured, sent or asked for until Start; Pause stops the camera.
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SourceProvider, useSource } from '../context/SourceContext';
import { renderInContexts } from '../test/contexts';
import { PoseOverlay } from './PoseOverlay';
import { SourcePicker } from './SourcePicker';

afterEach(cleanup);

describe('SourcePicker', () => {
  it('has Start while paused and Pause while running', () => {
    const calls: string[] = [];
    const controls = { start: () => calls.push('start'), pause: () => calls.push('pause') };
    renderInContexts(<SourcePicker />, { source: { running: false, ...controls } });
    expect(screen.getByLabelText('Streaming status').textContent).toMatch(/nothing is sent/);
    fireEvent.click(screen.getByRole('button', { name: 'Start' }));
    cleanup();
    renderInContexts(<SourcePicker />, { source: { running: true, ...controls } });
    expect(screen.queryByRole('button', { name: 'Start' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    expect(calls).toEqual(['start', 'pause']);
  });
});

describe('PoseOverlay', () => {
  it('says to press Start before the camera is on', () => {
    renderInContexts(<PoseOverlay />, { source: { running: false, imageSize: null } });
    expect(screen.getByRole('status').textContent).toBe('Press Start to turn on the camera.');
  });
});

/** The source's video and its Start/Pause, as the page has them. */
function SourceProbe() {
  const { videoRef, running, start, pause, imageSize } = useSource();
  return (
    <>
      <video ref={videoRef} />
      <button onClick={running ? pause : start}>{running ? 'Pause' : 'Start'}</button>
      <span data-testid="size">{imageSize ? `${imageSize.width}x${imageSize.height}` : 'none'}</span>
    </>
  );
}

describe('SourceProvider', () => {
  const stop = vi.fn();
  const getUserMedia = vi.fn(async () => ({ getTracks: () => [{ stop }] }) as unknown as MediaStream);

  beforeEach(() => {
    stop.mockClear();
    getUserMedia.mockClear();
    Object.defineProperty(navigator, 'mediaDevices', {
      configurable: true,
      value: {
        getUserMedia,
        enumerateDevices: async () => [],
        addEventListener: () => undefined,
        removeEventListener: () => undefined,
      },
    });
    vi.spyOn(HTMLMediaElement.prototype, 'play').mockImplementation(async () => undefined);
    vi.spyOn(HTMLMediaElement.prototype, 'pause').mockImplementation(() => undefined);
    vi.spyOn(HTMLMediaElement.prototype, 'load').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    delete (navigator as { mediaDevices?: unknown }).mediaDevices;
  });

  it('asks for the camera only on Start, and stops it on Pause', async () => {
    render(
      <SourceProvider>
        <SourceProbe />
      </SourceProvider>,
    );
    await act(async () => undefined);
    expect(getUserMedia).not.toHaveBeenCalled();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Start' })));
    expect(getUserMedia).toHaveBeenCalledTimes(1);
    expect(stop).not.toHaveBeenCalled();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Pause' })));
    expect(stop).toHaveBeenCalledTimes(1);
    expect(getUserMedia).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('size').textContent).toBe('none');
  });
});
