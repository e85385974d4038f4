import { defineConfig } from 'vitest/config';
import { PACK_TEST, SHARED } from './vitest.config.js';

// `npm run test:pack`: the packing test alone (see vitest.config.ts).
export default defineConfig({ test: { ...SHARED, reporters: [...SHARED.reporters], include: [PACK_TEST] } });
