import { useEffect } from 'react';
import { importModelFile } from '../state/modelTransfer';
import { startChapters } from '../state/scenes';
import { useApp } from '../state/store';
import { actionForKey } from './actions';
import { ControlPanel } from './components/ControlPanel';
import { EmbedBar } from './components/EmbedBar';
import { HelpOverlay, Notices } from './components/Overlays';
import { SessionBanner } from './components/SessionBanner';
import { Stage } from './components/Stage';
import { StatusBar } from './components/StatusBar';

export function App() {
  const embed = useApp((s) => s.embed !== null);
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

  // A model file dropped anywhere on the page is loaded (Import model's other door).
  useEffect(() => {
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    const onDragOver = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    const onDrop = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      const f = e.dataTransfer?.files[0];
      if (f) void importModelFile(f);
    };
    window.addEventListener('dragover', onDragOver);
    window.addEventListener('drop', onDrop);
    return () => {
      window.removeEventListener('dragover', onDragOver);
      window.removeEventListener('drop', onDrop);
    };
  }, []);

  if (embed)
    return (
      <div className="app embed">
        <EmbedBar />
        <Stage />
        <StatusBar />
        <Notices />
      </div>
    );

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
