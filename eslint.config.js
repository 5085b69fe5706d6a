import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.shipgate/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    // The simulators and test stand-ins are never part of the product: production code that
    // imported them would ship a fake GitHub.
    files: ['src/**', 'workers/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/sandbox/**', '**/test/**'],
              message: 'src/ and workers/ never import the simulators or test support.',
            },
          ],
        },
      ],
    },
  },
  {
    // Type-checked rules where a dropped promise costs most: the product. A promise nobody
    // awaits loses its error (an unhandled rejection ends the process) and its ordering (a
    // worker acks a job before the write it started). Scoped to src/ and workers/, with a
    // program of just those (tsconfig.eslint.json): typed linting builds the whole program, and
    // tsconfig.json's (tests, sandbox, bench too) made `eslint src workers` about 4x slower
    // than untyped; this one about 2x (docs/development.md has the numbers).
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      // Resolves `./x.js` to `./x.ts` as TypeScript does (NodeNext), so cycles through
      // TypeScript sources are seen.
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.eslint.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Folder-level value cycles make start-up order matter and modules impossible to test
      // alone; shared types live in leaf files instead. Type-only imports are erased at build
      // time and create no runtime cycle.
      'import-x/no-cycle': ['error', { ignoreExternal: true, allowUnsafeDynamicCyclicDependency: false }],
    },
  },
  {
    files: ['bench/**', 'src/cli.ts', 'src/commands/**'],
    rules: { 'no-console': 'off' },
  },
);
