// Writes src/openapi.ts from the /openapi.json of the Worker as built now (run `npm run build`
// first when the server changed: it bundles the Worker that startWeir runs).
import { writeFileSync } from "node:fs";
import { startWeir } from "../dist/testing/index.js";
import { openapiTypes } from "./openapi-types.mjs";

const weir = await startWeir();
try {
  const document = await (await fetch(`${weir.url}/openapi.json`)).json();
  writeFileSync(new URL("../src/openapi.ts", import.meta.url), await openapiTypes(document));
  console.log("wrote client/src/openapi.ts");
} finally {
  await weir.stop();
}
