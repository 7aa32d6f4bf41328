import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'tools/**/*.test.ts'],
    exclude: ['node_modules', 'dist', 'e2e'],
    environment: 'node',
    // Converter integration tests run real ONNX sessions; give them room on a 2-core CI box.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
