// Prints the closing "N passed, N failed" line that CI reads. A crashed worker or an unhandled
// error counts as a failure even when vitest's own counts say otherwise.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of testModules) {
      let failedHere = 0;
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'skipped') skipped += 1;
        else failedHere += 1;
      }
      // A file that failed with no failed test: a crashed worker, an import error, or a failing
      // beforeAll/afterAll (vitest then reports that suite's tests as skipped). Count it once.
      if (m.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    if (unhandledErrors.length > 0 && failed === 0) failed = 1;
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
