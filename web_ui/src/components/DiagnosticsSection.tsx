import { useLive } from '../context/LiveContext';
import { usePoseView } from '../context/PoseContext';
import { noInputReason, useSource } from '../context/SourceContext';

function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)} ms` : '–';
}

interface Tile {
  stat: string;
  label: string;
  value: string | number;
  /** What the number means, shown under it. */
  help: string;
}

/** How the pipeline keeps up, folded under the result: pose in the browser (– while images are
 * sent, when the server runs pose, and while there is no video: its last figures would read as
 * current), the traffic and the server's answers. */
export function DiagnosticsSection() {
  const { stats } = useLive();
  const pose = usePoseView().pose.stats;
  const source = useSource();
  const keypoints = source.settings.sendMode === 'keypoints';
  const poseRuns = keypoints && noInputReason(source) === null;
  const poseOnly = (value: string | number) => (poseRuns ? value : '–');
  const tiles: Tile[] = [
    { stat: 'pose-fps', label: 'Pose fps', value: poseOnly(pose.fps.toFixed(1)), help: 'poses found per second here' },
    {
      stat: 'inference',
      label: 'Pose inference',
      value: poseOnly(ms(pose.inferenceMs)),
      help: 'time of one pose estimate',
    },
    {
      stat: 'main-thread',
      label: 'Main thread per frame',
      value: poseOnly(ms(pose.mainThreadMs)),
      help: 'page time per frame: capture, drawing, sending',
    },
    {
      stat: 'long-tasks',
      label: 'Long tasks (> 50 ms)',
      value: poseOnly(pose.longTasks),
      help: 'page freezes since pose started',
    },
    {
      stat: 'skipped',
      label: 'Skipped (pose busy)',
      value: poseOnly(pose.skipped),
      help: 'video frames that came while pose was still busy with earlier ones',
    },
    {
      stat: 'frames-sent',
      label: keypoints ? 'Frames sent' : 'Images sent',
      value: keypoints ? stats.framesSent : stats.imagesSent,
      help: keypoints ? 'frames of keypoints sent to the server' : 'JPEG images sent to the server',
    },
    {
      stat: 'messages-sent',
      label: 'Messages sent',
      value: stats.messagesSent,
      help: 'frames leave together, up to the next window the server classifies',
    },
    {
      stat: 'results-rate',
      label: 'Results per second',
      value: stats.resultsPerSecond.toFixed(1),
      help: 'classifications received per second',
    },
    {
      stat: 'latency',
      label: 'Server latency',
      value: ms(stats.latencyMs),
      help: 'from sending a frame to its result',
    },
    {
      stat: 'processing',
      label: 'Server processing',
      value: ms(stats.processingMs),
      help: "the server's own time per result",
    },
    {
      stat: 'dropped',
      label: 'Dropped by the server',
      value: stats.dropped,
      help: 'windows or images of this session the server skipped to answer newer ones: it was busy',
    },
    {
      stat: 'not-sent',
      label: 'Not sent',
      value: stats.notSent,
      help: 'frames while disconnected or before the server has a model',
    },
    {
      stat: 'errors',
      label: 'Server errors',
      value: stats.errors,
      help: 'error events from the server; the last one is shown above',
    },
  ];
  return (
    <details className="diagnostics">
      <summary>Diagnostics</summary>
      <dl className="stats" aria-label="Live statistics">
        {tiles.map((tile) => (
          <div key={tile.stat} title={tile.help}>
            <dt>{tile.label}</dt>
            <dd data-stat={tile.stat}>{tile.value}</dd>
            <dd className="stat-help">{tile.help}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
