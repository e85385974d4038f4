import { defineConfig } from 'vitest/config';
import { CROSS_ARCH_TEST, SHARED } from './vitest.config.js';

// `npm run test:arm64` (scripts/test-arm64.sh): the subset that runs under qemu-aarch64 in a few
// minutes. Worker threads, not forks: a forked worker would be started as an arm64 executable
// without qemu in front of it.
export const ARM64_TESTS = [
  // the semantics we promise: PyTorch's float64 golden cases, gradient checks at small sizes
  'test/model-golden.test.ts',
  'test/ops-rnn.test.ts',
  'test/ops-optim.test.ts',
  'test/ops-loss.test.ts',
  'test/ops-dense.test.ts',
  'test/model-gradcheck.test.ts',
  // every instruction-set variant the emulator offers, fp32, bf16 and int8, against the fp64 reference
  'test/cpu-isa.test.ts',
  'test/bf16-generation.test.ts',
  'test/int8-generation.test.ts',
  'test/packed-weights.test.ts',
  // training, fit and sampling end to end; checkpoints exchanged with x64 (the longer training
  // tests stay out: test/stateful-training.test.ts alone takes two minutes under emulation)
  'test/fit.test.ts',
  'test/sampling.test.ts',
  'test/checkpoint.test.ts',
  CROSS_ARCH_TEST,
];

export default defineConfig({
  test: { ...SHARED, pool: 'threads', reporters: [...SHARED.reporters], include: ARM64_TESTS },
});
