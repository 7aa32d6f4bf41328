/**
 * `npm start`: makes the tiny test models when missing, builds the app and serves it at
 * http://localhost:5173 (or $PORT) with the test models under /models/local/. Needs no network.
 * `npm start` runs it through tools/setup.mjs, which first installs the dependencies when needed.
 */
import { spawnSync } from 'node:child_process';

const port = process.env.PORT ?? '5173';

function run(step: string, command: string, args: string[]): void {
  console.log(`▶ ${step}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run('Test models (generated when missing)', 'npx', ['tsx', 'tools/fixtures.ts']);
run('Building the app', 'npx', ['vite', 'build', '--logLevel', 'warn']);
run(`Serving Hanmadi at http://localhost:${port}/ (pick a "tiny test model" and press Load model)`, 'npx', ['vite', 'preview', '--port', port, '--strictPort']);
