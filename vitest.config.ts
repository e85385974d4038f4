import { configDefaults, defineConfig } from 'vitest/config';

// The packing test needs the prebuilds, which a fresh clone does not have: it runs on its own
// (`npm run test:pack`, vitest.pack.config.ts), after `npm run prebuilds`.
export const PACK_TEST = 'test/pack.test.ts';
// Exchanges checkpoints with an arm64 run: only `npm run test:arm64` (scripts/test-arm64.sh) runs it.
export const CROSS_ARCH_TEST = 'test/cross-arch-checkpoint.test.ts';

// What every run shares.
export const SHARED = {
  // A native crash then kills only its own file's worker, and the run still reports the rest.
  pool: 'forks',
  testTimeout: 120_000,
  hookTimeout: 120_000,
  reporters: ['default', './test/summary-reporter.ts'],
} as const;

export default defineConfig({
  test: { ...SHARED, reporters: [...SHARED.reporters], include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, PACK_TEST, CROSS_ARCH_TEST] },
});
