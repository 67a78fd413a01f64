// Lint rules that protect runtime guarantees, not style.
import tseslint from 'typescript-eslint';
import { boundaries } from './eslint.boundaries.js';

const ABORT_LISTENER = {
  selector: "CallExpression[callee.property.name='addEventListener'][arguments.0.value='abort']",
  message: "use addAbortListener from 'node:events' (it returns a disposer)",
};
// Every environment variable is read in config/ (env.ts, telemetry.ts), validated once,
// with its default and unit; elsewhere settings arrive as typed configuration.
const ENV_READ = {
  selector: "MemberExpression[object.name='process'][property.name='env']",
  message: 'read settings in server/src/config/ (env.ts) and pass them in; process.env is read only there',
};

export default [
  { ignores: ['node_modules/**', 'reports/**'] },
  ...tseslint.configs.recommended,
  {
    // Type-aware rules: every .ts file is linted with the project's own tsconfig.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits is how a rejection goes unhandled (KI-04). node:test's
      // test()/describe() return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
    },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // KI-09/KI-10: stdout is the MCP channel. Nothing in the server may write to it
    // except the JSON-RPC transport, and logs go through the bounded stderr writer.
    files: ['server/src/**/*.ts'],
    ignores: ['server/src/cli/**'],
    rules: {
      'no-console': 'error',
      'no-restricted-properties': ['error',
        { object: 'process', property: 'stdout', message: 'stdout carries JSON-RPC only; log through logging/logger.ts' }],
    },
  },
  {
    // One way to listen for an abort: events.addAbortListener, whose disposer cannot be
    // forgotten the way a removeEventListener can (a listener left on a long-lived signal
    // keeps its closure alive for the signal's lifetime). And one home for settings.
    files: ['server/src/**/*.ts'],
    ignores: ['server/src/**/*.test.ts'],
    rules: { 'no-restricted-syntax': ['error', ABORT_LISTENER, ENV_READ] },
  },
  {
    // The one home for settings: config/ reads the environment, main.ts hands it over.
    files: ['server/src/config/**/*.ts', 'server/src/main.ts'],
    ignores: ['server/src/**/*.test.ts'],
    rules: { 'no-restricted-syntax': ['error', ABORT_LISTENER] },
  },
  ...boundaries,
];
