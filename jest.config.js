// jest runs the TypeScript sources as native ES modules (@kubernetes/client-node 2.x is ESM-only),
// transpiled by ts-jest without type checking (`make lint` type-checks); `npm test` starts node
// with --experimental-vm-modules for that. (swc would be faster, but its per-platform binaries are
// not all served by this registry, which breaks `npm ci` of a lock file naming them.)
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false, tsconfig: 'tsconfig.json' }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
  testEnvironment: 'node',
};
export default {
  // jest-circus reads testTimeout only at the top level, not per project.
  testTimeout: 300000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
    // The same scenarios through the operator (real control plane) and the local tier (`autorun run`).
    {
      ...common,
      displayName: 'conformance',
      testMatch: ['<rootDir>/test/conformance/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
      globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
    // The real local model end to end: `make test` runs it in a jest run of its own after the others.
    { ...common, displayName: 'model', testMatch: ['<rootDir>/test/model/**/*.test.ts'] },
  ],
};
