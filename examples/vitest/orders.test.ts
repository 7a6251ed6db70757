// A user's test suite with a real Weir in-process (no mocks): `startWeir()` in beforeAll.
// vitest runs it in the node environment (the default).
import { Weir } from "@weir/client";
import { startWeir, type WeirServer } from "@weir/client/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { placeOrders, startBilling, type Order } from "./orders.js";

let server: WeirServer;
let weir: Weir;

beforeAll(async () => {
  server = await startWeir();
  weir = new Weir({ url: server.url, token: server.token });
  await weir.putTopic("orders", { partitions: 4 });
  await weir.putSubscription("orders", "billing", { start_position: "earliest" });
});

afterAll(() => server.stop());

it("bills every order once and dead-letters the impossible one", async () => {
  const billed: Order[] = [];
  const billing = startBilling(weir, billed);
  await placeOrders(weir, [
    { id: "o-1", customer: "ada", total: 30 },
    { id: "o-2", customer: "bob", total: 12 },
    { id: "o-3", customer: "ada", total: -5 },
  ]);
  await expect.poll(() => billing.counts.acked + billing.counts.deadLettered, { timeout: 10_000 }).toBe(3);
  await billing.stop();

  expect(billed.map((o) => o.id).sort()).toEqual(["o-1", "o-2"]);
  // The cron sweep (here run on demand) moves anything left over; nothing is.
  await server.runCron();
  const stats = await weir.stats("orders");
  expect(stats.subscriptions[0]).toMatchObject({ ready: 0, in_flight: 0 });
});
