import { describe, expect, it } from "vitest";
import { call, createSubscription, createTopic, uniqueName } from "../helpers";

interface Case {
  name: string;
  method: string;
  path: (t: { topic: string; sub: string }) => string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** A word the error message must contain: the field it names. */
  names?: string;
}

const produce = (t: { topic: string }) => `/v1/topics/${t.topic}/messages`;
const receive = (t: { topic: string; sub: string }) => `/v1/topics/${t.topic}/subscriptions/${t.sub}/receive`;
const ack = (t: { topic: string; sub: string }) => `/v1/topics/${t.topic}/subscriptions/${t.sub}/ack`;

const cases: Case[] = [
  { name: "malformed JSON", method: "POST", path: produce, raw: '{"messages": [', status: 400, code: "invalid_json" },
  { name: "a form body", method: "POST", path: produce, raw: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, code: "unsupported_media_type" },
  { name: "no messages field", method: "POST", path: produce, body: {}, status: 400, code: "invalid_request", names: "messages" },
  { name: "messages of the wrong type", method: "POST", path: produce, body: { messages: "hello" }, status: 400, code: "invalid_request", names: "messages" },
  { name: "an empty batch", method: "POST", path: produce, body: { messages: [] }, status: 400, code: "invalid_request", names: "messages" },
  { name: "a message without a body", method: "POST", path: produce, body: { messages: [{ key: "k" }] }, status: 400, code: "invalid_request", names: "messages[0].body" },
  { name: "a priority out of range", method: "POST", path: produce, body: { messages: [{ body: 1 }, { body: 1, priority: 10 }] }, status: 400, code: "invalid_request", names: "messages[1].priority" },
  { name: "a negative delay", method: "POST", path: produce, body: { messages: [{ body: 1, delay_seconds: -5 }] }, status: 400, code: "invalid_request", names: "delay_seconds" },
  { name: "a fractional priority", method: "POST", path: produce, body: { messages: [{ body: 1, priority: 1.5 }] }, status: 400, code: "invalid_request", names: "priority" },
  { name: "a huge number", method: "POST", path: produce, body: { messages: [{ body: 1, delay_seconds: 1e300 }] }, status: 400, code: "invalid_request", names: "delay_seconds" },
  { name: "a header that is not a string", method: "POST", path: produce, body: { messages: [{ body: 1, headers: { a: 1 } }] }, status: 400, code: "invalid_request", names: "headers" },
  { name: "an empty key", method: "POST", path: produce, body: { messages: [{ body: 1, key: "" }] }, status: 400, code: "invalid_request", names: "key" },
  { name: "an unknown field", method: "POST", path: produce, body: { messages: [{ body: 1, colour: "red" }] }, status: 400, code: "invalid_request", names: "colour" },
  { name: "too many messages", method: "POST", path: produce, body: { messages: Array.from({ length: 1001 }, () => ({ body: 1 })) }, status: 400, code: "invalid_request", names: "messages" },
  { name: "a body over 1 MiB", method: "POST", path: produce, body: { messages: [{ body: "x".repeat(1024 * 1024) }] }, status: 413, code: "message_too_large", names: "messages[0].body" },
  { name: "a request over 10 MiB", method: "POST", path: produce, raw: JSON.stringify({ messages: Array.from({ length: 11 }, () => ({ body: "x".repeat(1000 * 1000) })) }), status: 413, code: "payload_too_large" },
  { name: "an unknown topic", method: "POST", path: () => `/v1/topics/${uniqueName("nope")}/messages`, body: { messages: [{ body: 1 }] }, status: 404, code: "topic_not_found" },
  { name: "a bad topic name", method: "POST", path: () => "/v1/topics/bad%20name!/messages", body: { messages: [{ body: 1 }] }, status: 400, code: "invalid_request", names: "topic" },
  { name: "a topic name over 128 characters", method: "PUT", path: () => `/v1/topics/${"a".repeat(129)}`, body: {}, status: 400, code: "invalid_request", names: "topic" },
  { name: "zero partitions", method: "PUT", path: () => `/v1/topics/${uniqueName()}`, body: { partitions: 0 }, status: 400, code: "invalid_request", names: "partitions" },
  { name: "too many partitions", method: "PUT", path: () => `/v1/topics/${uniqueName()}`, body: { partitions: 257 }, status: 400, code: "invalid_request", names: "partitions" },
  { name: "partitions as a string", method: "PUT", path: () => `/v1/topics/${uniqueName()}`, body: { partitions: "4" }, status: 400, code: "invalid_request", names: "partitions" },
  { name: "an unknown subscription mode", method: "PUT", path: (t) => `/v1/topics/${t.topic}/subscriptions/${uniqueName()}`, body: { mode: "fifo" }, status: 400, code: "invalid_request", names: "mode" },
  { name: "a visibility timeout of 0", method: "PUT", path: (t) => `/v1/topics/${t.topic}/subscriptions/${uniqueName()}`, body: { visibility_timeout_seconds: 0 }, status: 400, code: "invalid_request", names: "visibility_timeout_seconds" },
  { name: "a wait over 60 s", method: "POST", path: receive, body: { wait_seconds: 61 }, status: 400, code: "invalid_request", names: "wait_seconds" },
  { name: "a negative max_messages", method: "POST", path: receive, body: { max_messages: -1 }, status: 400, code: "invalid_request", names: "max_messages" },
  { name: "max_messages over 1000", method: "POST", path: receive, body: { max_messages: 1001 }, status: 400, code: "invalid_request", names: "max_messages" },
  { name: "a visibility timeout over 12 h", method: "POST", path: receive, body: { visibility_timeout_seconds: 43201 }, status: 400, code: "invalid_request", names: "visibility_timeout_seconds" },
  { name: "ack without receipts", method: "POST", path: ack, body: { receipts: [] }, status: 400, code: "invalid_request", names: "receipts" },
  { name: "receipts that are not strings", method: "POST", path: ack, body: { receipts: [1, 2] }, status: 400, code: "invalid_request", names: "receipts[0]" },
  { name: "a filter without headers", method: "POST", path: receive, body: { filter: { headers: {} } }, status: 400, code: "invalid_request", names: "filter.headers" },
  { name: "a filter header that is not a string", method: "POST", path: receive, body: { filter: { headers: { v: 2 } } }, status: 400, code: "invalid_request", names: "filter.headers" },
  { name: "a seek to nowhere", method: "POST", path: (t) => `/v1/topics/${t.topic}/subscriptions/${t.sub}/seek`, body: { to: "soon" }, status: 400, code: "invalid_request", names: "to" },
  { name: "a seek to a negative offset", method: "POST", path: (t) => `/v1/topics/${t.topic}/subscriptions/${t.sub}/seek`, body: { to: { "0": -1 } }, status: 400, code: "invalid_request", names: "to" },
  { name: "a nack with a delay past 365 days", method: "POST", path: (t) => `/v1/topics/${t.topic}/subscriptions/${t.sub}/nack`, body: { receipts: ["x"], delay_seconds: 40000000 }, status: 400, code: "invalid_request", names: "delay_seconds" },
  { name: "a nack with dead_letter as a string", method: "POST", path: (t) => `/v1/topics/${t.topic}/subscriptions/${t.sub}/nack`, body: { receipts: ["x"], dead_letter: "yes" }, status: 400, code: "invalid_request", names: "dead_letter" },
  { name: "a redrive with an unknown reason", method: "POST", path: (t) => `/v1/topics/${t.topic}/subscriptions/${t.sub}/redrive`, body: { reason: "bored" }, status: 400, code: "invalid_request", names: "reason" },
  { name: "a ttl of 0", method: "POST", path: produce, body: { messages: [{ body: 1, ttl_seconds: 0 }] }, status: 400, code: "invalid_request", names: "ttl_seconds" },
  { name: "a deliver_at that is not a time", method: "POST", path: produce, body: { messages: [{ body: 1, deliver_at: "tomorrow" }] }, status: 400, code: "invalid_request", names: "deliver_at" },
  { name: "a retention under a minute", method: "PUT", path: () => `/v1/topics/${uniqueName()}`, body: { retention_seconds: 5 }, status: 400, code: "invalid_request", names: "retention_seconds" },
  { name: "an unknown overflow", method: "PUT", path: () => `/v1/topics/${uniqueName()}`, body: { overflow: "explode" }, status: 400, code: "invalid_request", names: "overflow" },
  { name: "a back-off jitter over 1", method: "PUT", path: (t) => `/v1/topics/${t.topic}/subscriptions/${uniqueName()}`, body: { retry_backoff: { jitter: 2 } }, status: 400, code: "invalid_request", names: "retry_backoff.jitter" },
  { name: "a back-off that starts above its cap", method: "PUT", path: (t) => `/v1/topics/${t.topic}/subscriptions/${uniqueName()}`, body: { retry_backoff: { initial_seconds: 100, max_seconds: 10 } }, status: 400, code: "invalid_request", names: "retry_backoff.initial_seconds" },
  { name: "cancelling an id over 128 characters", method: "DELETE", path: (t) => `/v1/topics/${t.topic}/messages/${"x".repeat(129)}`, status: 400, code: "invalid_request", names: "id" },
  { name: "an unknown route", method: "GET", path: () => "/v1/nothing-here", status: 404, code: "not_found" },
];

describe("bad input", () => {
  it.each(cases)("answers $status $code to $name, and stores nothing", async (c) => {
    const topic = await createTopic(2);
    const sub = await createSubscription(topic, { start_position: "earliest" });
    const r = await call(c.method, c.path({ topic, sub }), c.body, { raw: c.raw, headers: c.headers });
    expect(r.status).toBe(c.status);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(r.body.error.code).toBe(c.code);
    expect(typeof r.body.error.message).toBe("string");
    if (c.names) expect(r.body.error.message).toContain(c.names);

    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.partitions.map((p: { next_offset: number }) => p.next_offset)).toEqual([0, 0]);
    expect((await call("GET", "/v1/topics")).status).toBe(200);
  });

  it("stores nothing of a batch in which one message is invalid", async () => {
    const topic = await createTopic(1);
    const r = await call("POST", `/v1/topics/${topic}/messages`, {
      messages: [{ body: "fine" }, { body: "x".repeat(1024 * 1024 + 1) }],
    });
    expect(r.status).toBe(413);
    const stats = await call("GET", `/v1/topics/${topic}/stats`);
    expect(stats.body.partitions[0].next_offset).toBe(0);
  });

  it("lists every field zod refused in details", async () => {
    const topic = await createTopic(1);
    const r = await call("POST", `/v1/topics/${topic}/messages`, {
      messages: [{ body: 1, priority: 11 }, { body: 1, delay_seconds: "soon" }],
    });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["messages[0].priority", "messages[1].delay_seconds"]));
  });
});
