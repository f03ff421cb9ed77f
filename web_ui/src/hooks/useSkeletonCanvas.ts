// Draws landmarks on the overlay canvas, whose pixel size follows the video's.
import { useCallback, type RefObject } from 'react';
import { drawSkeleton } from '../lib/draw';
import type { ImageSize, Landmarks } from '../lib/pose';

export function useSkeletonCanvas(canvasRef: RefObject<HTMLCanvasElement | null>) {
  return useCallback(
    (landmarks: Landmarks | null, size: ImageSize) => {
      const canvas = canvasRef.current;
      if (!canvas || size.width === 0 || size.height === 0) return;
      if (canvas.width !== size.width || canvas.height !== size.height) {
        canvas.width = size.width;
        canvas.height = size.height;
      }
      const ctx = canvas.getContext('2d');
      if (ctx) drawSkeleton(ctx, landmarks, size.width, size.height);
    },
    [canvasRef],
  );
}
