import { useEffect } from 'react';
import { startChapters } from '../state/scenes';
import { useApp } from '../state/store';
import { actionForKey } from './actions';
import { ControlPanel } from './components/ControlPanel';
import { HelpOverlay, Notices } from './components/Overlays';
import { SessionBanner } from './components/SessionBanner';
import { Stage } from './components/Stage';
import { StatusBar } from './components/StatusBar';

export function App() {
  useEffect(() => startChapters(), []);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && useApp.getState().helpOpen) {
        useApp.setState({ helpOpen: false });
        return;
      }
      const action = actionForKey(event);
      if (!action) return;
      event.preventDefault();
      action.perform();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div className="app">
      <header className="topbar">
        <h1>
          LCP Lab <span className="subtitle">the least-control principle, live</span>
        </h1>
        <SessionBanner />
      </header>
      <ControlPanel />
      <Stage />
      <StatusBar />
      <Notices />
      <HelpOverlay />
    </div>
  );
}
