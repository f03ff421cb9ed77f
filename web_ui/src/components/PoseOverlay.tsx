import { useLive } from '../context/LiveContext';
import { usePoseView } from '../context/PoseContext';
import { useSource } from '../context/SourceContext';
import { PeopleLegend } from './PeopleLegend';

/** The video with the skeleton drawn over it (several people: each in its colour, and who they
 * are), and a line over it while there is nothing to show (not started, no file chosen, no
 * camera, the pose model loading). */
export function PoseOverlay() {
  const { videoRef, canvasRef, kind, file, error, settings, running } = useSource();
  const { pose, people } = usePoseView();
  const { numPoses } = useLive();
  let notice: string | null = null;
  if (kind === 'file' && !file) notice = 'Choose a video file below.';
  else if (!running) notice = kind === 'camera' ? 'Press Start to turn on the camera.' : 'Paused: press Start to play.';
  else if (error) notice = error;
  else if (settings.sendMode === 'keypoints' && pose.status === 'loading') notice = 'Loading the pose model…';
  return (
    <figure className="pose-overlay">
      <div className="stage">
        <video ref={videoRef} aria-label="Video" playsInline muted controls={kind === 'file'} />
        <canvas ref={canvasRef} role="img" aria-label="Skeleton overlay" />
        {numPoses > 1 && running && !notice && <PeopleLegend people={people} />}
        {notice && (
          <p className="stage-notice" role="status">
            {notice}
          </p>
        )}
      </div>
    </figure>
  );
}
