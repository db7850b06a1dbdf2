/**
 * Jest runs the TypeScript sources through ts-jest without type checking
 * (`npm run typecheck` does that once for the whole tree, which is faster).
 * Suites that need a local control plane, an S3 server or minutes of CPU
 * time live in their own projects and are selected with --selectProjects.
 */
const tsJest = ['ts-jest', { diagnostics: false }];

const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest },
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'trainer', testMatch: ['<rootDir>/trainer/test/**/*.test.ts'] },
    {
      ...common,
      displayName: 'operator',
      testMatch: ['<rootDir>/operator/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/operator/test/integration/'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/operator/test/integration/**/*.test.ts'],
    },
  ],
};
