// A model's or a session's window in the terms of the upload form and the overlap field: its
// size and overlap, and how often a window ends (the server reports size and stride).

function frames(count: number): string {
  return `${count} frame${count === 1 ? '' : 's'}`;
}

/** "5 frames, overlap 2 frames (a result every 3 frames)"; "–" without a size. */
export function windowTerms(size: number | null | undefined, stride: number | null | undefined): string {
  if (!size) return '–';
  if (!stride) return frames(size);
  const every = stride === 1 ? 'every frame' : `every ${frames(stride)}`;
  return `${frames(size)}, overlap ${frames(Math.max(0, size - stride))} (a result ${every})`;
}
