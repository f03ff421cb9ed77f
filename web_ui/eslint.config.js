// ESLint (flat config): typescript-eslint's recommended rules on every script, and React's rules
// of hooks (rules-of-hooks, exhaustive-deps) as errors on the app's code. `npm run lint` runs it;
// so does test.sh.
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig([
  globalIgnores(['dist/', 'public/', 'test-results/', 'node_modules/']),
  tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
]);
