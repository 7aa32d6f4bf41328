import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  throw new Error(`Chromium not found at ${chromium}: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH).`);
}

export default defineConfig({
  testDir: 'e2e',
  workers: 1,
  // Model loads and WebGPU shader compilation on SwiftShader (a CPU) are slow on 2 cores.
  timeout: 600_000,
  reporter: [['list']],
  use: {
    headless: true,
    launchOptions: {
      executablePath: chromium,
      args: [
        '--enable-unsafe-webgpu',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
});
