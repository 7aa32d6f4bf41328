/**
 * Production builds of the app for the PWA tests, each into its own temporary folder (dist/
 * belongs to the preview server). A build is made once per test process and label; the folders
 * are removed when the process exits.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const builds = new Map<string, string>();
const parent = mkdtempSync(join(tmpdir(), 'hanmadi-builds-'));
process.on('exit', () => rmSync(parent, { recursive: true, force: true }));

/** Builds with HANMADI_BUILD_ID=`label` (so two labels give two different versions) and returns the output folder. */
export function buildApp(label: string): string {
  const existing = builds.get(label);
  if (existing) return existing;
  const outDir = join(parent, label);
  const result = spawnSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
    env: { ...process.env, HANMADI_BUILD_ID: label },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`vite build failed:\n${result.stdout}\n${result.stderr}`);
  builds.set(label, outDir);
  return outDir;
}
