import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64url } from "../../src/shared/encoding";
import { decodeReceipts, leaseReceipts, type Receipt, type ReceiptSecrets } from "../../src/shared/receipt";
import { call, createSubscription, createTopic, produce, receive, settle } from "../helpers";

const receipt: Receipt = { topicUid: "ABC123", subscriptionUid: "XYZ789", partition: 3, offset: 42, nonce: "N0NCE" };

const encode = async (secrets: ReceiptSecrets, r: Receipt) => (await leaseReceipts(secrets, r))(r.offset);
const decode = async (secrets: ReceiptSecrets, token: string) => (await decodeReceipts(secrets, [token]))[0];

/** A token that is shaped like a receipt, for lease `text`, with a made-up signature. */
const unsigned = (text: string, offset = 1) =>
  `${base64url(new TextEncoder().encode(text))}.${base64url(new Uint8Array(32))}.${offset}`;

describe("receipts", () => {
  it("decode what they encode", async () => {
    expect(await decode(env, await encode(env, receipt))).toEqual(receipt);
  });

  it("share one signature per lease and decode each offset of it", async () => {
    const sign = await leaseReceipts(env, receipt);
    const tokens = [1, 2, 42].map(sign);
    expect(new Set(tokens.map((t) => t.split(".").slice(0, 2).join("."))).size).toBe(1);
    expect((await decodeReceipts(env, tokens)).map((r) => r?.offset)).toEqual([1, 2, 42]);
  });

  it("are refused when any part was changed", async () => {
    const token = await encode(env, receipt);
    const [payload, mac] = token.split(".") as [string, string, string];
    const otherLease = await encode(env, { ...receipt, nonce: "OTHER" });
    const forged = [
      unsigned("r3.ABC123.XYZ789.3.N0NCE", 42),
      `${otherLease.split(".")[0]}.${mac}.42`,
      `${payload}.${mac.slice(0, -2)}AA.42`,
      `${payload}.${mac}x.42`,
      `${payload}..${mac}.42`,
      `${payload}.${mac}`,
      `${payload}.${mac}.-1`,
      `${payload}.${mac}.042`,
      `${payload}.${mac}.1e3`,
      `${payload}.${mac}.99999999999999999`,
      `${payload}.${mac}.42.1`,
      payload,
    ];
    const decoded = await decodeReceipts(env, forged);
    forged.forEach((bad, i) => expect(decoded[i], bad).toBeNull());
  });

  it("are refused when signed with another secret", async () => {
    const token = await encode({ RECEIPT_SECRET: "another secret" }, receipt);
    expect(await decode(env, token)).toBeNull();
  });

  it("refuse text that is not a receipt, and receipts of earlier formats", async () => {
    const earlier = [btoa("r1.ABC.XYZ.1.2.N"), unsigned("r1.ABC.XYZ.-1.2.N"), unsigned("r2.ABC123.XYZ789.3.42.N0NCE")];
    for (const bad of ["", "abc", "r1", "a".repeat(600), "é.é.1", ...earlier]) {
      expect(await decode(env, bad), bad).toBeNull();
    }
  });

  it("derive their secret from ADMIN_TOKEN when RECEIPT_SECRET is not set", async () => {
    const a = await encode({ ADMIN_TOKEN: "one" }, receipt);
    expect(await decode({ ADMIN_TOKEN: "one" }, a)).toEqual(receipt);
    expect(await decode({ ADMIN_TOKEN: "two" }, a)).toBeNull();
    expect(a).not.toBe(await encode({ RECEIPT_SECRET: "one" }, receipt));
  });
});

describe("receipts over the API", () => {
  it("refuses a forged receipt as receipt_invalid and leaves the lease alone", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ body: 1 }]);
    const [m] = await receive(topic, sub);
    const [payload, , offset] = m!.receipt.split(".");
    const results = await settle("ack", topic, sub, { receipts: [`${payload}.${base64url(new Uint8Array(32))}.${offset}`] });
    expect(results[0]).toMatchObject({ ok: false, error: { code: "receipt_invalid" } });
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(1);
  });

  it("refuses a receipt whose offset was moved to a message of another lease, and leaves both leases alone", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    await produce(topic, [{ body: 1 }, { body: 2 }]);
    const [first] = await receive(topic, sub, { max_messages: 1 });
    const [second] = await receive(topic, sub, { max_messages: 1 });
    const [payload, mac] = first!.receipt.split(".");
    const moved = `${payload}.${mac}.${second!.offset}`;
    const results = await settle("ack", topic, sub, { receipts: [moved] });
    expect(results[0]).toMatchObject({ ok: false, error: { code: "receipt_stale" } });
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.subscriptions[0].in_flight).toBe(2);
    expect((await settle("ack", topic, sub, { receipts: [first!.receipt, second!.receipt] })).every((r) => r.ok)).toBe(true);
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
