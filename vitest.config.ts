import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

import { TEST_ADMIN_TOKEN, TEST_OUTBOUND_SIGNING_SECRET, TEST_RECEIPT_SECRET } from "./test/constants";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      projects: [
        {
          // The service itself, inside workerd, with real Durable Objects, D1 and alarms.
          plugins: [
            cloudflareTest({
              main: "./src/index.ts",
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                  RECEIPT_SECRET: TEST_RECEIPT_SECRET,
                  OUTBOUND_SIGNING_SECRET: TEST_OUTBOUND_SIGNING_SECRET,
                  TEST_MIGRATIONS: migrations,
                  // Runs of the model test (test/edges/model.test.ts): `npm run chaos` asks for many.
                  WEIR_MODEL_RUNS: process.env.WEIR_MODEL_RUNS ?? "12",
                },
              },
            }),
          ],
          test: {
            name: "workerd",
            include: ["test/**/*.test.ts"],
            exclude: ["test/e2e/**"],
            setupFiles: ["./test/setup.ts"],
          },
        },
        {
          // A real `wrangler dev` spoken to over HTTP, as a user would.
          test: {
            name: "e2e",
            include: ["test/e2e/**/*.test.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
        {
          // @weir/client against Weir in-process under Miniflare (client/src/testing).
          test: {
            name: "client",
            include: ["client/test/**/*.test.ts", "examples/vitest/**/*.test.ts"],
            environment: "node",
            // One file at a time: each starts its own Weir, and the CLI tests spawn processes;
            // run side by side with the other projects they would compete for two cores.
            fileParallelism: false,
            testTimeout: 60_000,
            hookTimeout: 60_000,
          },
        },
      ],
    },
  };
});
