// ESLint for the browser code (flat config; `make test` runs it from the repository root with
// `web/node_modules/.bin/eslint --config web/eslint.config.js web`). Everything in web/ is an ES
// module for the browser, except the widget's loader, which a business's page includes as a
// classic <script>, and this file, which Node reads. The patterns start with **/ because ESLint
// takes them relative to where it runs: the repository root or web/.
import js from '@eslint/js';
import globals from 'globals';

export default [
  // Vendored code comes from npm (served out of node_modules), not from us.
  // sdk/vendor/: socket.io-client's build, copied there when the SDK is packed (package.json).
  { ignores: ['**/node_modules/**', '**/sdk/vendor/**'] },
  js.configs.recommended,
  {
    files: ['**/*.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.browser },
    },
    rules: {
      // `catch (err) { /* why it is ignored */ }` says why in a comment; the name stays for reading.
      'no-unused-vars': ['error', { caughtErrors: 'none' }],
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/widget/widget.js'],
    languageOptions: { sourceType: 'script' },
  },
  {
    files: ['**/eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
];
