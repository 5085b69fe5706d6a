import js from '@eslint/js';
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
    files: ['bench/**', 'src/cli.ts', 'src/commands/**'],
    rules: { 'no-console': 'off' },
  },
);
