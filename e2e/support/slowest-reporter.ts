/**
 * A Playwright reporter beside 'list': at the end of the run, the ten slowest tests with their
 * times (each test's final attempt), so `npm test` says where the e2e time goes.
 */
import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

const SHOWN = 10;

export default class SlowestReporter implements Reporter {
  private readonly durations = new Map<TestCase, { ms: number; status: TestResult['status'] }>();

  onTestEnd(test: TestCase, result: TestResult): void {
    this.durations.set(test, { ms: result.duration, status: result.status });
  }

  onEnd(result: FullResult): void {
    const slowest = [...this.durations].sort((a, b) => b[1].ms - a[1].ms).slice(0, SHOWN);
    if (!slowest.length) return;
    const total = [...this.durations.values()].reduce((sum, d) => sum + d.ms, 0);
    console.log(`\nThe ${slowest.length} slowest e2e tests (of ${this.durations.size}, ${(total / 60_000).toFixed(1)} min of tests; run ${result.status}):`);
    for (const [test, { ms, status }] of slowest) {
      const where = `${test.location.file.replace(/^.*\/e2e\//, 'e2e/')}:${test.location.line}`;
      console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${status === 'passed' ? ' ' : '✘'} ${where} › ${test.title}`);
    }
  }

  printsToStdio(): boolean {
    return false;
  }
}
