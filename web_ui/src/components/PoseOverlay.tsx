import type { RefObject } from 'react';

interface Props {
  videoRef: RefObject<HTMLVideoElement | null>;
  canvasRef: RefObject<HTMLCanvasElement | null>;
  /** A line over the video while there is nothing to show (loading, no source, ...). */
  notice: string | null;
  controls: boolean;
}

/** The video with the skeleton drawn over it. */
export function PoseOverlay({ videoRef, canvasRef, notice, controls }: Props) {
  return (
    <figure className="pose-overlay">
      <div className="stage">
        <video ref={videoRef} aria-label="Video" playsInline muted controls={controls} />
        <canvas ref={canvasRef} role="img" aria-label="Skeleton overlay" />
        {notice && (
          <p className="stage-notice" role="status">
            {notice}
          </p>
        )}
      </div>
    </figure>
  );
}
