import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { serveDirectory, type StaticServer } from '../../scripts/serveStatic';

let server: StaticServer | null = null;

/** Build the app once (unless E2E_SKIP_BUILD=1) and serve dist/ on loopback for every e2e file. */
export default async function setup(project: TestProject) {
  if (process.env.E2E_SKIP_BUILD !== '1') {
    execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
  }
  server = await serveDirectory('dist');
  project.provide('baseUrl', server.url);
  return async () => {
    await server?.close();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}
