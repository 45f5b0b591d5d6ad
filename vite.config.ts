import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Relative base so that dist/ works from any static file server and any sub-path.
export default defineConfig({
  base: './',
  plugins: [react()],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
});
