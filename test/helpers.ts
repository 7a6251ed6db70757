import { createScheduledController, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../src/index";
import type { Partition } from "../src/partition/partition";
import { partitionName } from "../src/shared/object-names";
import { ShiftedClock } from "./clock";
import { TEST_ADMIN_TOKEN } from "./constants";
import { ndjsonLines } from "./ndjson";

export const ADMIN_TOKEN = TEST_ADMIN_TOKEN;

/** Runs the cron trigger's handler once, as the runtime does every minute. */
export async function runCron(scheduledTime: number = Date.now()): Promise<void> {
  await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime }), env);
}

let counter = 0;
/** A topic name no other test uses. */
export function uniqueName(prefix = "t"): string {
  counter++;
  return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the Worker as a client would, with the admin key unless `token` says otherwise. */
export async function call<T = any>(
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined = options.raw;
  if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined && !headers["content-type"]) headers["content-type"] = "application/json";
  const response = await exports.default.fetch(
    new Request(`http://weir.test${path}`, { method, headers, body: payload }),
  );
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export async function createTopic(partitions = 1, name = uniqueName()): Promise<string> {
  const r = await call("PUT", `/v1/topics/${name}`, { partitions });
  if (r.status !== 201) throw new Error(`create topic: ${r.status} ${JSON.stringify(r.body)}`);
  return name;
}

export async function createSubscription(
  topic: string,
  settings: Record<string, unknown> = {},
  name = uniqueName("s"),
): Promise<string> {
  const r = await call("PUT", `/v1/topics/${topic}/subscriptions/${name}`, settings);
  if (r.status !== 201) throw new Error(`create subscription: ${r.status} ${JSON.stringify(r.body)}`);
  return name;
}

export interface Delivered {
  id: string;
  key: string | null;
  headers: Record<string, string>;
  body: unknown;
  partition: number;
  offset: number;
  attempt: number;
  receipt: string;
  priority: number;
  produced_at: string;
}

export async function produce(
  topic: string,
  messages: Record<string, unknown>[],
): Promise<{ id: string; partition: number; offset: number; duplicate: boolean }[]> {
  const r = await call("POST", `/v1/topics/${topic}/messages`, { messages });
  if (r.status !== 200) throw new Error(`produce: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.results;
}

export async function receive(
  topic: string,
  subscription: string,
  options: Record<string, unknown> = {},
): Promise<Delivered[]> {
  const r = await call("POST", `/v1/topics/${topic}/subscriptions/${subscription}/receive`, options);
  if (r.status !== 200) throw new Error(`receive: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.messages;
}

export async function settle(
  action: "ack" | "nack" | "extend",
  topic: string,
  subscription: string,
  body: Record<string, unknown>,
): Promise<{ receipt: string; ok: boolean; error?: { code: string; message: string } }[]> {
  const r = await call("POST", `/v1/topics/${topic}/subscriptions/${subscription}/${action}`, body);
  if (r.status !== 200) throw new Error(`${action}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.results;
}

export async function ack(topic: string, subscription: string, receipts: string[]) {
  return settle("ack", topic, subscription, { receipts });
}

export type StreamLine = { messages?: Delivered[]; end?: string; partition_calls?: number; doorbell_calls?: number; error?: { code: string } };

/** Opens POST …/stream and hands out its lines one by one, as they arrive. */
export async function openStream(topic: string, sub: string, body: Record<string, unknown>, token: string = ADMIN_TOKEN) {
  const response = await exports.default.fetch(
    new Request(`http://weir.test/v1/topics/${topic}/subscriptions/${sub}/stream`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
  if (response.status !== 200) throw new Error(`stream: ${response.status} ${await response.text()}`);
  if (response.headers.get("content-type") !== "application/x-ndjson") throw new Error("stream: not NDJSON");
  return ndjsonLines<StreamLine>(response.body!);
}

/** Receives until `count` messages came or `rounds` receives in a row returned nothing. */
export async function drain(
  topic: string,
  subscription: string,
  options: { batch?: number; ack?: boolean } = {},
): Promise<Delivered[]> {
  const all: Delivered[] = [];
  let empty = 0;
  while (empty < 2) {
    const got = await receive(topic, subscription, { max_messages: options.batch ?? 100 });
    if (got.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    all.push(...got);
    if (options.ack !== false) await ack(topic, subscription, got.map((m) => m.receipt));
  }
  return all;
}

/** The uids the catalog gave a topic and (if named) one of its subscriptions. */
export async function catalogUids(topic: string, subscription?: string): Promise<{ topicUid: string; subscriptionUid: string }> {
  const t = await env.CATALOG.prepare("SELECT uid FROM topics WHERE name = ?").bind(topic).first<{ uid: string }>();
  if (!t) throw new Error(`no topic ${topic}`);
  if (subscription === undefined) return { topicUid: t.uid, subscriptionUid: "" };
  const s = await env.CATALOG.prepare("SELECT uid FROM subscriptions WHERE topic = ? AND name = ?")
    .bind(topic, subscription)
    .first<{ uid: string }>();
  if (!s) throw new Error(`no subscription ${subscription} of ${topic}`);
  return { topicUid: t.uid, subscriptionUid: s.uid };
}

/** The partitions of a topic as Durable Object stubs, in index order. */
export async function partitionStubs(topic: string): Promise<DurableObjectStub<Partition>[]> {
  const row = await env.CATALOG.prepare("SELECT uid, partitions FROM topics WHERE name = ?")
    .bind(topic)
    .first<{ uid: string; partitions: number }>();
  if (!row) throw new Error(`no topic ${topic}`);
  return Array.from({ length: row.partitions }, (_, i) => env.PARTITION.get(env.PARTITION.idFromName(partitionName(row.uid, i))));
}

/**
 * Gives every partition of `topic` a clock that tests move forward, and returns a function
 * that advances them all and runs their alarms, as the runtime would once the time came.
 */
export async function controlTime(
  topic: string,
): Promise<(ms: number, options?: { runAlarms?: boolean }) => Promise<void>> {
  const stubs = await partitionStubs(topic);
  for (const stub of stubs) {
    await runInDurableObject<Partition, void>(stub, (instance) => {
      instance.clock = new ShiftedClock();
    });
  }
  return async (ms: number, options: { runAlarms?: boolean } = {}) => {
    for (const stub of stubs) {
      await runInDurableObject<Partition, void>(stub, (instance) => {
        (instance.clock as ShiftedClock).advance(ms);
      });
      if (options.runAlarms !== false) await runDurableObjectAlarm(stub);
    }
  };
}

/**
 * Collects `count` dead letters from `<topic>.dlq` through a subscription made for the test
 * (from the start of that topic), waiting for them to arrive.
 */
export async function deadLetters(topic: string, count: number, timeoutMs = 5_000): Promise<Delivered[]> {
  const dlq = `${topic}.dlq`;
  const sub = "test-inspector";
  const exists = await call("GET", `/v1/topics/${dlq}/subscriptions/${sub}`);
  if (exists.status === 404) await createSubscription(dlq, { start_position: "earliest" }, sub);
  const got: Delivered[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count && Date.now() < deadline) {
    const batch = await receive(dlq, sub, { max_messages: 100, wait_seconds: 1 });
    if (batch.length > 0) await ack(dlq, sub, batch.map((m) => m.receipt));
    got.push(...batch);
  }
  return got;
}
