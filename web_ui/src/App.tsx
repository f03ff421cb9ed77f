import { BluetoothPanel } from './components/BluetoothPanel';
import { ClassificationPanel } from './components/ClassificationPanel';
import { ConnectionStatus } from './components/ConnectionStatus';
import { ModelPanel } from './components/ModelPanel';
import { NoModelBanner } from './components/NoModelBanner';
import { PageTitle } from './components/PageTitle';
import { PoseOverlay } from './components/PoseOverlay';
import { PoseSettingsForm } from './components/PoseSettingsForm';
import { SourcePicker } from './components/SourcePicker';
import { AppProviders } from './context/AppProviders';

/** The page: each panel takes what it shows from its concern's context (src/context/). */
export function App() {
  return (
    <AppProviders>
      <PageTitle />
      <div className="app">
        <header className="app-header">
          <h1>StreamPoseML</h1>
          <ConnectionStatus />
        </header>
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
            <ModelPanel />
          </div>
        </main>
      </div>
    </AppProviders>
  );
}
