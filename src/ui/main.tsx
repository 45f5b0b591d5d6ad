import { createRoot } from 'react-dom/client';

function App() {
  return (
    <main>
      <h1>LCP Lab</h1>
      <p>The least-control principle for learning in equilibrium neural networks.</p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
