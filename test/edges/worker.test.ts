import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SURGE_INDEX_BASE, surgePartitionName } from "../../src/shared/object-names";
import { leaseReceipts } from "../../src/shared/receipt";
import { ADMIN_TOKEN, call, catalogUids, createSubscription, createTopic, openStream, receive, settle } from "../helpers";
import { createKey } from "../security/keys";

describe("the Worker's edges (F-12, F-16, docs)", () => {
  it("refuses producer ids that would pass for a dead letter's or a surge copy's key", async () => {
    const topic = await createTopic(1);
    for (const id of ["dl:T:S:0:42:x", "mv:0:1"]) {
      const r = await call("POST", `/v1/topics/${topic}/messages`, { messages: [{ id, body: 1 }] });
      expect(r.status).toBe(400);
      expect(r.body.error.details[0].path).toBe("messages[0].id");
    }
  });

  it("answers a deeply nested body with 2xx or 4xx, never 500", async () => {
    const topic = await createTopic(1);
    const depth = 200_000;
    const raw = `{"messages":[{"body":${"[".repeat(depth)}${"]".repeat(depth)}}]}`;
    const r = await call("POST", `/v1/topics/${topic}/messages`, undefined, { raw });
    expect(r.status).toBeLessThan(500);
  });

  it("answers 415 unsupported_media_type to a JSON route called with a body and no content type", async () => {
    const topic = await createTopic(1);
    // Bytes, not a string: a string body would be given text/plain.
    const response = await exports.default.fetch(
      new Request(`http://weir.test/v1/topics/${topic}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        body: new TextEncoder().encode('{"messages":[{"body":1}]}'),
      }),
    );
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unsupported_media_type");
  });

  it("ends a stream whose key is revoked while it runs", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    const key = await createKey([`consume:${topic}`]);
    const lines = await openStream(topic, sub, { wait_seconds: 30, heartbeat_seconds: 1 }, key.secret);
    expect((await call("DELETE", `/v1/keys/${key.id}`)).status).toBe(204);
    const rest = await lines.rest();
    expect(rest.at(-1)).toMatchObject({ error: { code: "unauthorized" } });
  });

  it("takes a receipt of a temporary partition that this isolate's cache does not know yet", async () => {
    const topic = await createTopic(1);
    const sub = await createSubscription(topic);
    await receive(topic, sub); // the cache now has the subscription with no surge
    const { topicUid, subscriptionUid } = await catalogUids(topic, sub);
    await env.CATALOG.prepare("UPDATE subscriptions SET surge_state = 'active', surge_partitions = 1, surge_started_at = 5 WHERE uid = ?")
      .bind(subscriptionUid)
      .run();
    const temp = env.PARTITION.get(env.PARTITION.idFromName(surgePartitionName(topicUid, subscriptionUid, 5, 0)));
    const spec = { uid: subscriptionUid, mode: "shared" as const, sinceMs: 0 };
    await temp.subscribe(spec);
    await temp.append([{ id: "m", idFromProducer: false, key: null, headers: null, body: "1", priority: 0, delayMs: 0, ttlMs: null }]);
    const lease = await temp.lease(spec, 1, 30_000);
    if (!lease.ok) throw new Error("lease failed");
    const [message] = lease.messages;
    const receipt = (await leaseReceipts(env, { topicUid, subscriptionUid, partition: SURGE_INDEX_BASE, nonce: message!.nonce }))(message!.offset);
    const [result] = await settle("ack", topic, sub, { receipts: [receipt] });
    expect(result).toMatchObject({ ok: true });
  });
});
