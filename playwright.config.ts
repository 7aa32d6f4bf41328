import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  throw new Error(`Chromium not found at ${chromium}: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH).`);
}

/** Where the built app is served for the e2e tests (vite preview, with the test models). */
export const APP_PORT = Number(process.env.E2E_PORT ?? 4173);

/** Chromium flags: nothing that phones home. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** The browser every e2e test runs in (the PWA tests' own persistent profile too): WebGPU on (SwiftShader here). */
export const LAUNCH_OPTIONS = { executablePath: chromium, args: ['--enable-unsafe-webgpu', ...CHROMIUM_ARGS] };

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  // Model loads and WebGPU shader compilation on SwiftShader (a CPU) are slow on 2 cores.
  timeout: 600_000,
  expect: { timeout: 30_000 },
  // The list as tests run, then the ten slowest (npm test's last lines).
  reporter: [['list'], ['./e2e/support/slowest-reporter.ts']],
  webServer: {
    command: `npx vite build --logLevel warn && npx vite preview --port ${APP_PORT} --strictPort`,
    url: `http://localhost:${APP_PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 180_000,
    stdout: 'ignore',
  },
  use: {
    baseURL: `http://localhost:${APP_PORT}/`,
    headless: true,
    launchOptions: LAUNCH_OPTIONS,
  },
});
