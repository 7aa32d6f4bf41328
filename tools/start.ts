/**
 * `npm start`: makes the tiny test models when missing, builds the app and serves it at
 * http://localhost:5173 (or $PORT) with the test models under /models/local/. Needs no network.
 * `npm start` runs it through tools/setup.mjs, which first installs the dependencies when needed.
 */
import { spawnSync } from 'node:child_process';

const port = process.env.PORT ?? '5173';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run('npx', ['tsx', 'tools/fixtures.ts']);
run('npx', ['vite', 'build', '--logLevel', 'warn']);
console.log(`\nHanmadi: http://localhost:${port}/  (pick a "tiny test model" and press Load model)\n`);
run('npx', ['vite', 'preview', '--port', port, '--strictPort']);
