import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { openapiTypes } from "../scripts/openapi-types.mjs";
import { useWeir } from "./helpers.js";

const { server } = useWeir();

// src/openapi.ts is generated from the server's /openapi.json and checked in. When this fails,
// the API changed: run `npm run build -w client && npm run generate -w client` at the
// repository root, look at the diff of client/src/openapi.ts, and adapt the client to it.
it("the checked-in types are what the server's OpenAPI document gives", async () => {
  const document = (await (await fetch(`${server().url}/openapi.json`)).json()) as object;
  const checkedIn = readFileSync(new URL("../src/openapi.ts", import.meta.url), "utf8");
  expect(checkedIn === (await openapiTypes(document)), "client/src/openapi.ts is out of date: npm run generate -w client").toBe(true);
});
