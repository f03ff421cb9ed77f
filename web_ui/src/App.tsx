import { ConnectionStatus } from './components/ConnectionStatus';
import { PageTitle } from './components/PageTitle';
import { AppProviders } from './context/AppProviders';
import { useRoute } from './hooks/useRoute';
import { AnalyzePage } from './pages/AnalyzePage';
import { LivePage } from './pages/LivePage';

/** The app: the live page and the video analysis pages, chosen by the URL hash (lib/route.ts).
 * The live page stays mounted while another page shows, so its camera and session go on. */
export function App() {
  const [route, go] = useRoute();
  const live = route.page === 'live';
  return (
    <AppProviders>
      <PageTitle />
      <div className="app">
        <header className="app-header">
          <h1>StreamPoseML</h1>
          <nav className="app-nav" aria-label="Pages">
            <a href="#/" aria-current={live ? 'page' : undefined}>
              Live
            </a>
            <a href="#/analyze" aria-current={live ? undefined : 'page'}>
              Analyze a video
            </a>
          </nav>
          <ConnectionStatus />
        </header>
        <div hidden={!live}>
          <LivePage />
        </div>
        {!live && <AnalyzePage route={route} go={go} />}
      </div>
    </AppProviders>
  );
}
