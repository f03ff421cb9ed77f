import { personColor, personName } from '../lib/people';

/** Several people: whose frames a result is of ("Person #3", `track_id`), in its overlay colour. */
export function PersonTag({ trackId, label }: { trackId: number; label: string }) {
  return (
    <p className="legend-item" aria-label={label}>
      <span className="swatch" style={{ background: personColor(trackId) }} />
      {personName(trackId)}
    </p>
  );
}
