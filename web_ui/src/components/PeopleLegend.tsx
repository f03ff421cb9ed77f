import { personColor, personTag, type PeopleInView } from '../lib/people';
import './PeopleLegend.css';

/** Over the video: the people the newest `people` answer names, each in its colour, the
 * classified one marked, and how many are not tracked yet. */
export function PeopleLegend({ people }: { people: PeopleInView }) {
  const { trackIds, subject, tentative } = people;
  return (
    <ul className="people-legend" aria-label="People in view">
      {trackIds.map((id) => (
        <li key={id} data-track-id={id} style={{ borderColor: personColor(id), color: personColor(id) }}>
          {personTag(id)}
          {id === subject && <span className="people-subject"> classified</span>}
        </li>
      ))}
      {tentative > 0 && <li className="people-tentative">+{tentative} not tracked yet</li>}
      {trackIds.length === 0 && tentative === 0 && <li className="people-tentative">nobody tracked</li>}
    </ul>
  );
}
