import { formatTime, type TimelineEvent } from '../lib/jobs';

/** The analyzers' events; clicking a row seeks the video to its start. */
export function EventsTable({ events, onSeek }: { events: TimelineEvent[]; onSeek: (seconds: number) => void }) {
  if (!events.length) return <p data-testid="events-table">No events found.</p>;
  return (
    <table data-testid="events-table">
      <thead>
        <tr>
          <th>Analyzer</th>
          <th>Kind</th>
          <th>Frames</th>
          <th>Time</th>
          <th>Errors</th>
          <th>Text</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e, i) => (
          <tr key={i} onClick={() => onSeek(e.start_s)} style={{ cursor: 'pointer' }}>
            <td>{e.analyzer}</td>
            <td>{e.kind}</td>
            <td>
              {e.frame_start}–{e.frame_end}
            </td>
            <td>
              {formatTime(e.start_s)}–{formatTime(e.end_s)}
            </td>
            <td>{e.errors.join(', ')}</td>
            <td>{e.text}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
