// Draws landmarks on the overlay canvas, whose pixel size follows the video's: one person's
// skeleton (`draw`), or several people in their track colours (`drawPeople`).
import { useMemo, type RefObject } from 'react';
import { drawPeople, drawSkeleton } from '../lib/draw';
import type { DrawnPerson } from '../lib/people';
import type { ImageSize, Landmarks } from '../lib/pose';

export interface SkeletonCanvas {
  draw: (landmarks: Landmarks | null, size: ImageSize) => void;
  drawPeople: (people: readonly DrawnPerson[], size: ImageSize) => void;
}

export function useSkeletonCanvas(canvasRef: RefObject<HTMLCanvasElement | null>): SkeletonCanvas {
  return useMemo(() => {
    const context = (size: ImageSize) => {
      const canvas = canvasRef.current;
      if (!canvas || size.width === 0 || size.height === 0) return null;
      if (canvas.width !== size.width || canvas.height !== size.height) {
        canvas.width = size.width;
        canvas.height = size.height;
      }
      return canvas.getContext('2d');
    };
    return {
      draw: (landmarks, size) => {
        const ctx = context(size);
        if (ctx) drawSkeleton(ctx, landmarks, size.width, size.height);
      },
      drawPeople: (people, size) => {
        const ctx = context(size);
        if (ctx) drawPeople(ctx, people, size.width, size.height);
      },
    };
  }, [canvasRef]);
}
