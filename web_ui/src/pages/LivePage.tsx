import { AnalysisPanel } from '../components/AnalysisPanel';
import { BluetoothPanel } from '../components/BluetoothPanel';
import { ClassificationPanel } from '../components/ClassificationPanel';
import { ModelPanel } from '../components/ModelPanel';
import { NoModelBanner } from '../components/NoModelBanner';
import { PoseOverlay } from '../components/PoseOverlay';
import { PoseSettingsForm } from '../components/PoseSettingsForm';
import { SourcePicker } from '../components/SourcePicker';

/** Live classification and movement analysis from the camera, a video or images: each panel takes what it shows from
 * its concern's context (src/context/). */
export function LivePage() {
  return (
    <>
      <NoModelBanner />
      <main className="layout">
        <div className="column">
          <PoseOverlay />
          <SourcePicker />
          <PoseSettingsForm />
          <BluetoothPanel />
        </div>
        <div className="column">
          <ClassificationPanel />
          <AnalysisPanel />
          <ModelPanel />
        </div>
      </main>
    </>
  );
}
