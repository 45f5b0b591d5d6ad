import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'katex/dist/katex.min.css';
import './styles.css';
import { BACKENDS, type BackendChoice } from '../engine/config';
import { engine } from '../state/engine';
import { App } from './App';
import { loadPreset } from './components/ControlPanel';

// `?backend=webgl|wasm|cpu|auto` forces a backend (tests and benchmarks use it).
const requested = new URLSearchParams(location.search).get('backend');
const backend = (BACKENDS as readonly string[]).includes(requested ?? '')
  ? (requested as BackendChoice)
  : 'auto';
// `?fault=no-webgl` makes WebGL unavailable in the engine (tests of the fallback).
if (new URLSearchParams(location.search).get('fault') === 'no-webgl')
  engine().send({ type: 'inject', fault: 'no-webgl' });
// The engine's command interface on window, for the console and for end-to-end tests.
(window as unknown as { lcp: ReturnType<typeof engine> }).lcp = engine();
loadPreset('figure-1', { backend });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
