import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'katex/dist/katex.min.css';
import './styles.css';
import { engine } from '../state/engine';
import { openLink, startLinkSync } from '../state/linkSync';
import { runLog } from '../state/runLog';
import { startAutosave } from '../state/session';
import { simView } from '../state/simView';
import { pushNotice, useApp } from '../state/store';
import { App } from './App';
import { ErrorBoundary } from './components/ErrorBoundary';
import { loadChapter } from './configEdits';
import { startEmbedApi } from './embedApi';
import { readQuery } from './query';
import { listenForUpdates } from './updates';

const query = readQuery(location.search);
if (query.rejected.length)
  pushNotice({
    level: 'warning',
    key: 'query',
    text: `Ignored in the address: ${query.rejected.join(', ')} (backend is webgl, wasm, cpu or auto; docs/embed.md lists the embed options).`,
  });
// The engine's command interface and the page's state on window, for the console and for
// end-to-end tests (read-only views of what the page shows).
Object.assign(window, {
  lcp: engine(),
  lcpDebug: {
    latest: () => simView.getState().latest,
    view: () => simView.getState(),
    app: () => useApp.getState(),
    log: () => runLog.getState(),
  },
});
if (query.embed) useApp.setState({ embed: query.embed });
// A link replays its run; without one the first chapter opens.
if (!openLink(location.hash)) loadChapter('figure-1', { backend: query.backend });
startAutosave();
startLinkSync();
startEmbedApi();
listenForUpdates();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ErrorBoundary>
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
