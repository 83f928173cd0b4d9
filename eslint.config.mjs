// Lint, and the layering of src/ (docs/DEVELOPMENT.md): each part may import
// only the parts below it. `npm run lint` runs in `npm test`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';

/** What each part of src/ may import (besides itself). Everything else is refused. */
export const LAYERS = {
  domain: [],
  observability: [],
  config: ['domain', 'observability'],
  model: ['domain'],
  store: ['domain'],
  security: ['domain', 'observability'],
  registry: ['domain', 'store', 'observability'],
  xds: ['domain', 'model', 'observability'],
  relay: ['domain', 'model', 'observability', 'registry', 'store', 'xds'],
  bootstrap: ['domain', 'model', 'observability'],
  api: ['domain', 'model', 'observability', 'registry', 'store', 'security'],
  server: ['domain', 'model', 'observability', 'registry', 'store', 'xds', 'relay', 'bootstrap', 'api', 'config', 'security'],
  demo: ['domain', 'observability', 'config', 'bootstrap', 'security'],
  cli: ['domain', 'model', 'observability', 'config', 'store', 'server', 'bootstrap', 'demo', 'security'],
};
const PARTS = Object.keys(LAYERS);

const layerRules = PARTS.map((part) => {
  const forbidden = PARTS.filter((p) => p !== part && !LAYERS[part].includes(p));
  return {
    files: [`src/${part}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((p) => ({
            group: [`../${p}`, `../${p}/*`, `../../${p}`, `../../${p}/*`, `../../../${p}`, `../../../${p}/*`],
            message: `src/${part} may import only ${LAYERS[part].join(', ') || 'nothing else from src/'} (layering: docs/DEVELOPMENT.md).`,
          })),
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/**/generated/**', 'migrations/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } }, 'import/parsers': { '@typescript-eslint/parser': ['.ts'] }, 'import/extensions': ['.ts'] },
    rules: {
      'import/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Tests inspect decoded JSON of Envoy messages: `any` stays out of src/ (module boundaries), not out of assertions.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  ...layerRules,
);
