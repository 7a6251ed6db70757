// The runtime's ceilings, served by the ceiling Worker (bench/ceilings/) in a second
// `wrangler dev` on the same machine during the same run: a request to a Worker that does
// nothing, to a Durable Object that does nothing, to an object that takes 100 messages and does
// nothing with them, and to one that inserts 1 or 100 rows of 256 bytes in one transaction.
// Each call resolves to the number of items it moved. bench/cases/paired.mjs runs them.
import { send } from "../client.mjs";
import { BATCH, produceBody } from "../config.mjs";

function expectOk(response, what) {
  if (response.status !== 200) throw new Error(`ceiling ${what}: ${response.status} ${response.text}`);
}

export function ceilingCalls(url) {
  const one = produceBody(1);
  const hundred = produceBody(BATCH);
  const get = (path) => async () => (expectOk(await send(url, "GET", path), path), 1);
  const post = (path, body, items) => async () => (expectOk(await send(url, "POST", path, body), path), items);
  let spread = 0;
  // Each ceiling has objects of its own, so that one's table size does not slow another.
  return {
    /** The ceiling Worker itself, for the cases that speak to it beyond these calls (the stream floor). */
    url,
    noop: get("/noop"),
    objectNoop: get("/object/noop?object=noop"),
    echo100: post("/object/echo?object=echo", hundred, BATCH),
    insert1: post("/object/insert?object=insert1", one, 1),
    /** One row a request, the requests spread over 4 objects (as a 4-partition topic's produces). */
    insert1Spread: async () => post(`/object/insert?object=insert1-${spread++ % 4}`, one, 1)(),
    insert100: post("/object/insert?object=insert100", hundred, BATCH),
    /** The batch as one row: the storage floor of Weir's log, which keeps a batch as one segment row. */
    segment100: post("/object/segment?object=segment100", hundred, BATCH),
  };
}
