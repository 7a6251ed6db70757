import { defineConfig } from "vitest/config";

// `npm run test:browser`: the dashboard and /docs in headless Chromium (Debian's `chromium`,
// driven by playwright-core) against `npm start`. Kept out of `npm test`: it needs the browser,
// which .ci/setup installs.
export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.spec.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
