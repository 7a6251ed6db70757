import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64url } from "../../src/shared/encoding";
import { decodeReceipt, encodeReceipt, type Receipt } from "../../src/shared/receipt";
import { call, createSubscription, createTopic, produce, receive, settle } from "../helpers";

const receipt: Receipt = { topicUid: "ABC123", subscriptionUid: "XYZ789", partition: 3, offset: 42, nonce: "N0NCE" };

/** A token that is shaped like a receipt, for `text`, with a made-up signature. */
const unsigned = (text: string) => `${base64url(new TextEncoder().encode(text))}.${base64url(new Uint8Array(32))}`;

describe("receipts", () => {
  it("decode what they encode", async () => {
    expect(await decodeReceipt(env, await encodeReceipt(env, receipt))).toEqual(receipt);
  });

  it("are refused when any part was changed", async () => {
    const token = await encodeReceipt(env, receipt);
    const [payload, mac] = token.split(".") as [string, string];
    const other = await encodeReceipt(env, { ...receipt, offset: 43 });
    const forged = [
      unsigned("r2.ABC123.XYZ789.3.43.N0NCE"),
      `${other.split(".")[0]}.${mac}`,
      `${payload}.${mac.slice(0, -2)}AA`,
      `${payload}.${mac}x`,
      `${payload}..${mac}`,
      payload,
    ];
    for (const bad of forged) expect(await decodeReceipt(env, bad), bad).toBeNull();
  });

  it("are refused when signed with another secret", async () => {
    const token = await encodeReceipt({ RECEIPT_SECRET: "another secret" }, receipt);
    expect(await decodeReceipt(env, token)).toBeNull();
  });

  it("refuse text that is not a receipt, and receipts of the unsigned first format", async () => {
    for (const bad of ["", "abc", "r1", btoa("r1.ABC.XYZ.1.2.N"), "a".repeat(600), "é.é", unsigned("r1.ABC.XYZ.-1.2.N")]) {
      expect(await decodeReceipt(env, bad), bad).toBeNull();
    }
  });

  it("derive their secret from ADMIN_TOKEN when RECEIPT_SECRET is not set", async () => {
    const a = await encodeReceipt({ ADMIN_TOKEN: "one" }, receipt);
    expect(await decodeReceipt({ ADMIN_TOKEN: "one" }, a)).toEqual(receipt);
    expect(await decodeReceipt({ ADMIN_TOKEN: "two" }, a)).toBeNull();
    expect(a).not.toBe(await encodeReceipt({ RECEIPT_SECRET: "one" }, receipt));
  });
});

describe("receipts over the API", () => {
  it("refuses a forged receipt as receipt_invalid and leaves the lease alone", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ body: 1 }]);
    const [m] = await receive(topic, sub);
    const [payload] = m!.receipt.split(".");
    const results = await settle("ack", topic, sub, { receipts: [`${payload}.${base64url(new Uint8Array(32))}`] });
    expect(results[0]).toMatchObject({ ok: false, error: { code: "receipt_invalid" } });
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(1);
  });

  it("refuses a receipt of another subscription of the same topic as receipt_mismatch", async () => {
    const topic = await createTopic(1);
    const a = await createSubscription(topic, { start_position: "earliest" });
    const b = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ body: 1 }]);
    const [fromA] = await receive(topic, a);
    const [fromB] = await receive(topic, b);
    const results = await settle("ack", topic, b, { receipts: [fromA!.receipt] });
    expect(results[0]).toMatchObject({ ok: false, error: { code: "receipt_mismatch" } });
    // b's own delivery and a's are both still in flight.
    expect((await settle("ack", topic, b, { receipts: [fromB!.receipt] }))[0]!.ok).toBe(true);
    expect((await settle("ack", topic, a, { receipts: [fromA!.receipt] }))[0]!.ok).toBe(true);
  });

  it("refuses a receipt of topic A on topic B, even for a subscription of the same name", async () => {
    const topicA = await createTopic(1);
    const topicB = await createTopic(1);
    const sub = await createSubscription(topicA, { start_position: "earliest" });
    await createSubscription(topicB, { start_position: "earliest" }, sub);
    await produce(topicA, [{ body: "a" }]);
    await produce(topicB, [{ body: "b" }]);
    const [fromA] = await receive(topicA, sub);
    for (const action of ["ack", "nack", "extend"] as const) {
      const body = { receipts: [fromA!.receipt], ...(action === "extend" ? { visibility_timeout_seconds: 60 } : {}) };
      const results = await settle(action, topicB, sub, body);
      expect(results[0], action).toMatchObject({ ok: false, error: { code: "receipt_mismatch" } });
    }
    const stats = await call("GET", `/v1/topics/${topicA}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(1);
  });
});
