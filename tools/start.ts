/**
 * `npm start`: makes the tiny fixture models when missing, builds the app and serves it
 * (with the fixtures under /models/) at http://localhost:5173, or $PORT. Works offline.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const port = process.env.PORT ?? '5173';

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit', env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run('npx', ['tsx', 'tools/fixtures.ts']);
if (!existsSync('index.html')) {
  console.error('The chat UI has not landed yet (see the README status): fixtures are ready in fixtures/models/, nothing to serve.');
  process.exit(1);
}
run('npx', ['vite', 'build']);
console.log(`\nHanmadi: http://localhost:${port}/\n`);
run('npx', ['vite', 'preview', '--port', port, '--strictPort']);
