// ESLint flat config: the web client (browser ES modules) and its Node unit tests.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", ".venv/", "src/hubbub/web/static/swagger/"] },
  js.configs.recommended,
  {
    files: ["src/hubbub/web/static/app/js/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
  },
  {
    // The service worker: a classic script in the worker's scope (self, caches, fetch).
    files: ["src/hubbub/web/static/app/sw.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "script", globals: globals.serviceworker },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
  {
    rules: {
      eqeqeq: ["error", "always"],
    },
  },
];
