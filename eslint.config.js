// Lint rules that protect runtime guarantees, not style.
import tseslint from 'typescript-eslint';
import { boundaries } from './eslint.boundaries.js';

export default [
  { ignores: ['node_modules/**', 'reports/**'] },
  ...tseslint.configs.recommended,
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
  ...boundaries,
];
