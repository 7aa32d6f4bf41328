/** Types for install-state.mjs (plain JavaScript: it runs before TypeScript is installed). */
export interface PackageLock {
  packages?: Record<string, { version?: string; integrity?: string; optional?: boolean; devOptional?: boolean }>;
}
export const INSTALLED_RECORD: string;
export const LOCKFILE: string;
export function staleReason(lockfile: PackageLock | null, installed: PackageLock | null, lockfileNewer: boolean): string | null;
export function installStaleReason(root?: string): string | null;
