/**
 * What `npm start`, `npm test` and `npm run test:quick` run first, on any checkout:
 * `node tools/setup.mjs start|test|quick`. It installs what is missing, then hands over to
 * tools/start.ts or tools/test.ts (through tsx, which exists only once the dependencies are
 * installed). Plain JavaScript on Node's standard library alone, because nothing else is installed
 * when it starts.
 *
 * - Dependencies: `npm ci` when node_modules is missing, or older than package-lock.json and
 *   installed from other contents (tools/lib/install-state.mjs).
 * - Chromium and the Noto CJK fonts (for `test`): Debian's packages, installed with apt-get when
 *   missing and running as root; otherwise the one command to run is printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { installStaleReason } from './lib/install-state.mjs';

/** Each task: the script tsx runs, its arguments, and whether it drives Chromium. */
const TASKS = {
  start: { script: 'tools/start.ts', args: [], chromium: false },
  test: { script: 'tools/test.ts', args: [], chromium: true },
  // `npm run test:quick`: fixtures, typecheck, lint and unit tests; no browser.
  quick: { script: 'tools/test.ts', args: ['--quick'], chromium: false },
};
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MIN_NODE_MAJOR = 20;

function fail(message) {
  console.error(`\n${message}\n`);
  process.exit(1);
}

function run(command, args, env = process.env) {
  console.log(`\n▶ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function ensureDependencies() {
  const reason = installStaleReason();
  if (!reason) return;
  // npm ci empties node_modules first; through a link that would empty a folder another checkout uses.
  if (existsSync('node_modules') && lstatSync('node_modules').isSymbolicLink())
    fail(`node_modules is out of date (${reason}), but it is a link to a folder shared with another checkout: not reinstalling into it.`);
  console.log(`Installing dependencies: ${reason}.`);
  // onnxruntime-node's postinstall would fetch CUDA libraries; its CPU binary ships in the package.
  // .npmrc says so too, but npm 11 warns that it will stop passing such keys on.
  run('npm', ['ci', '--no-audit', '--no-fund'], { ...process.env, ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip' });
}

/**
 * Debian packages the end-to-end tests need, each found by a file it installs: Chromium, and Noto
 * Sans CJK (e2e/support/documents.ts embeds it in the Korean PDFs it writes; without it Hangul also
 * renders as boxes, and the narrow-screen checks would measure another font).
 */
const TEST_PACKAGES = [
  { name: 'chromium', file: CHROMIUM },
  { name: 'fonts-noto-cjk', file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc' },
];

function ensureTestPackages() {
  if (process.env.CHROMIUM_PATH && !existsSync(CHROMIUM)) fail(`Chromium was not found at CHROMIUM_PATH=${CHROMIUM}.`);
  const missing = TEST_PACKAGES.filter((p) => !existsSync(p.file));
  if (missing.length === 0) return;
  const names = missing.map((p) => p.name).join(' ');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !existsSync('/usr/bin/apt-get'))
    fail(
      `The end-to-end tests need Debian's ${names} (missing: ${missing.map((p) => p.file).join(', ')}). Install with:\n  sudo sh -c 'apt-get update && apt-get install -y ${names}'\n(or set CHROMIUM_PATH to a Chromium elsewhere).`,
    );
  console.log(`Installing what the end-to-end tests need: ${names}.`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], env);
  run('apt-get', ['install', '-y', '-qq', ...missing.map((p) => p.name)], env);
  for (const p of missing) if (!existsSync(p.file)) fail(`apt-get installed ${p.name}, but ${p.file} is still missing.`);
}

function main() {
  const task = process.argv[2];
  if (!Object.hasOwn(TASKS, task ?? '')) fail(`Usage: node tools/setup.mjs ${Object.keys(TASKS).join('|')} [arguments for the task]`);
  const major = Number(process.versions.node.split('.')[0]);
  if (major < MIN_NODE_MAJOR) fail(`Hanmadi needs Node ${MIN_NODE_MAJOR} or newer; this is ${process.versions.node}.`);
  const { script, args, chromium } = TASKS[task];
  ensureDependencies();
  if (chromium) ensureTestPackages();
  run('npx', ['tsx', script, ...args, ...process.argv.slice(3)]);
}

main();
