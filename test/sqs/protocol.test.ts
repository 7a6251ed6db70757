import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { RateLimiter } from "../../src/rate-limiter/rate-limiter";
import { ShiftedClock } from "../clock";
import { md5OfAttributes } from "../../src/sqs/message-attributes";
import { call, createSubscription, createTopic, produce, uniqueName } from "../helpers";
import { sqsCall } from "./client";

async function newQueue(name = uniqueName("q")): Promise<{ name: string; url: string }> {
  const r = await sqsCall("CreateQueue", { QueueName: name });
  expect(r.status).toBe(200);
  return { name, url: r.body.QueueUrl };
}

describe("the SQS protocol", () => {
  it("answers in AWS JSON 1.0 with a request id", async () => {
    const r = await sqsCall("ListQueues", {});
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/x-amz-json-1.0");
    expect(r.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("words an error with __type and x-amzn-query-error", async () => {
    const r = await sqsCall("GetQueueUrl", { QueueName: "no-such-queue" });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "The specified queue does not exist." });
    expect(r.headers.get("x-amzn-query-error")).toBe("AWS.SimpleQueueService.NonExistentQueue;Sender");
  });

  it("refuses an unsigned request before doing anything", async () => {
    const name = uniqueName("q");
    const r = await sqsCall("CreateQueue", { QueueName: name }, { unsigned: true });
    expect(r.status).toBe(403);
    expect(r.body.__type).toBe("com.amazonaws.sqs#MissingAuthenticationToken");
    expect((await call("GET", `/v1/topics/${name}`)).status).toBe(404);
  });

  it("refuses a body other than the one signed, and creates nothing", async () => {
    const name = uniqueName("q");
    const r = await sqsCall("CreateQueue", { QueueName: "signed-name" }, { sendBody: JSON.stringify({ QueueName: name }) });
    expect(r.status).toBe(403);
    expect(r.body.__type).toBe("com.amazonaws.sqs#SignatureDoesNotMatch");
    expect((await call("GET", `/v1/topics/${name}`)).status).toBe(404);
  });

  it("refuses a request signed 16 minutes ago", async () => {
    const r = await sqsCall("ListQueues", {}, { at: new Date(Date.now() - 16 * 60_000) });
    expect(r.status).toBe(403);
    expect(r.body.message).toMatch(/^Signature expired/);
  });

  it("names an unknown operation InvalidAction", async () => {
    const r = await sqsCall("TagQueue", { QueueUrl: "x", Tags: {} });
    expect(r.status).toBe(400);
    expect(r.body.__type).toBe("com.amazonaws.sqs#InvalidAction");
  });

  it("refuses a body that is not JSON, and the query protocol's content type", async () => {
    const notJson = await sqsCall("ListQueues", {}, { rawBody: "{nope" });
    expect(notJson.status).toBe(400);
    expect(notJson.body.__type).toBe("com.amazonaws.sqs#SerializationException");
    const form = await sqsCall("ListQueues", {}, { contentType: "application/x-www-form-urlencoded" });
    expect(form.status).toBe(400);
    expect(form.body.__type).toBe("com.amazonaws.sqs#SerializationException");
  });

  it("names a missing member MissingParameter and a bad one InvalidParameterValue", async () => {
    const missing = await sqsCall("SendMessage", { MessageBody: "x" });
    expect(missing.body).toMatchObject({ __type: "com.amazonaws.sqs#MissingParameter", message: expect.stringContaining("QueueUrl") });
    const bad = await sqsCall("ReceiveMessage", { QueueUrl: "http://x/000000000000/q", WaitTimeSeconds: 61 });
    expect(bad.body).toMatchObject({ __type: "com.amazonaws.sqs#InvalidParameterValue", message: expect.stringContaining("WaitTimeSeconds") });
  });

  it("leaves requests without X-Amz-Target to the REST API", async () => {
    expect((await call("GET", "/v1/topics")).status).toBe(200);
  });
});

describe("ListQueues", () => {
  it("pages with MaxResults and NextToken, by name, and lists only topics with an sqs subscription", async () => {
    const prefix = uniqueName("page");
    const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (const name of names) await newQueue(name);
    await createTopic(1, `${prefix}-not-a-queue`);
    const first = await sqsCall("ListQueues", { QueueNamePrefix: prefix, MaxResults: 2 });
    expect(first.body.QueueUrls).toEqual(names.slice(0, 2).map((n) => `http://weir.test/000000000000/${n}`));
    expect(first.body.NextToken).toEqual(expect.any(String));
    const second = await sqsCall("ListQueues", { QueueNamePrefix: prefix, MaxResults: 2, NextToken: first.body.NextToken });
    expect(second.body.QueueUrls).toEqual([`http://weir.test/000000000000/${names[2]}`]);
    expect(second.body.NextToken).toBeUndefined();
  });
});

describe("SQS and REST on one topic", () => {
  it("stores an SQS body as a JSON string and its attributes in the sqs-message-attributes header", async () => {
    const { name, url } = await newQueue();
    const attributes = { colour: { DataType: "String", StringValue: "blue" } };
    const sent = await sqsCall("SendMessage", { QueueUrl: url, MessageBody: "hello", MessageAttributes: attributes });
    expect(sent.body.MD5OfMessageAttributes).toBe(md5OfAttributes(attributes));
    const got = await call("POST", `/v1/topics/${name}/subscriptions/sqs/receive`, { max_messages: 1, wait_seconds: 5 });
    expect(got.body.messages[0]).toMatchObject({
      id: sent.body.MessageId,
      body: "hello",
      headers: { "sqs-message-attributes": JSON.stringify(attributes) },
    });
  });

  it("gives an SQS consumer a REST message's headers as String attributes and a JSON body as its text", async () => {
    const topic = await createTopic();
    await createSubscription(topic, { start_position: "earliest" }, "sqs");
    await produce(topic, [{ body: { n: 1 }, headers: { tenant: "acme" } }]);
    const r = await sqsCall("ReceiveMessage", {
      QueueUrl: `http://weir.test/000000000000/${topic}`,
      WaitTimeSeconds: 5,
      MessageAttributeNames: ["All"],
    });
    expect(r.body.Messages[0]).toMatchObject({
      Body: '{"n":1}',
      MessageAttributes: { tenant: { DataType: "String", StringValue: "acme" } },
    });
  });

  it("makes a topic made through the REST API a queue with CreateQueue", async () => {
    const topic = await createTopic();
    const r = await sqsCall("CreateQueue", { QueueName: topic });
    expect(r.status).toBe(200);
    const sub = await call("GET", `/v1/topics/${topic}/subscriptions/sqs`);
    expect(sub.body).toMatchObject({ mode: "shared", start_position: "earliest", max_deliveries: 1000 });
  });

  it("answers CreateQueue without attributes for a queue made through the REST API, whatever its settings", async () => {
    const topic = await createTopic();
    await createSubscription(topic, { max_deliveries: 3, visibility_timeout_seconds: 10 }, "sqs");
    const r = await sqsCall("CreateQueue", { QueueName: topic });
    expect(r.status).toBe(200);
    expect(r.body.QueueUrl).toBe(`http://weir.test/000000000000/${topic}`);
    const other = await sqsCall("CreateQueue", { QueueName: topic, Attributes: { VisibilityTimeout: "20" } });
    expect(other.body.__type).toBe("com.amazonaws.sqs#QueueNameExists");
    expect((await call("GET", `/v1/topics/${topic}/subscriptions/sqs`)).body).toMatchObject({ max_deliveries: 3, visibility_timeout_seconds: 10 });
  });

  it("maps a FIFO queue to an ordered subscription and a five-minute dedup window", async () => {
    const name = `${uniqueName("q")}.fifo`;
    const r = await sqsCall("CreateQueue", { QueueName: name, Attributes: { FifoQueue: "true" } });
    expect(r.status).toBe(200);
    expect((await call("GET", `/v1/topics/${name}`)).body).toMatchObject({ dedup_window_seconds: 300 });
    expect((await call("GET", `/v1/topics/${name}/subscriptions/sqs`)).body).toMatchObject({ mode: "ordered" });
    const plain = await sqsCall("CreateQueue", { QueueName: `${uniqueName("q")}.fifo` });
    expect(plain.body.__type).toBe("com.amazonaws.sqs#InvalidParameterValue");
  });
});

describe("SQS credentials of API keys", () => {
  async function newKey(scopes: string[]): Promise<{ id: string; sqs: { access_key_id: string; secret_access_key: string } }> {
    const r = await call("POST", "/v1/keys", { name: "sqs", scopes });
    expect(r.status).toBe(201);
    return r.body;
  }

  it("signs with the key's derived secret, and is refused once the key is revoked", async () => {
    const { name, url } = await newQueue();
    const key = await newKey([`produce:${name}`]);
    expect(key.sqs.access_key_id).toBe(key.id);
    const as = { accessKeyId: key.sqs.access_key_id, secret: key.sqs.secret_access_key };
    expect((await sqsCall("SendMessage", { QueueUrl: url, MessageBody: "x" }, as)).status).toBe(200);
    const denied = await sqsCall("ReceiveMessage", { QueueUrl: url }, as);
    expect(denied.status).toBe(403);
    expect(denied.body.__type).toBe("com.amazonaws.sqs#AccessDenied");
    expect((await call("DELETE", `/v1/keys/${key.id}`)).status).toBe(204);
    const revoked = await sqsCall("SendMessage", { QueueUrl: url, MessageBody: "x" }, as);
    expect(revoked.body.__type).toBe("com.amazonaws.sqs#InvalidClientTokenId");
  });

  it("lists nothing in the key list that tells its SQS secret", async () => {
    const key = await newKey(["produce:x"]);
    const listed = await call("GET", "/v1/keys");
    expect(JSON.stringify(listed.body)).not.toContain(key.sqs.secret_access_key);
  });

  it("counts SendMessage against the key's produce rate limit: RequestThrottled with Retry-After, nothing stored", async () => {
    const { name, url } = await newQueue();
    const r = await call("POST", "/v1/keys", { name: "slow", scopes: [`produce:${name}`], rate_limit: { produce_per_second: 1 } });
    const as = { accessKeyId: r.body.sqs.access_key_id, secret: r.body.sqs.secret_access_key };
    // A clock that stands still: the second request falls in the same second, however slow the machine.
    await runInDurableObject<RateLimiter, void>(env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(r.body.id)), (limiter) => {
      limiter.clock = new ShiftedClock();
    });
    expect((await sqsCall("SendMessage", { QueueUrl: url, MessageBody: "1" }, as)).status).toBe(200);
    const throttled = await sqsCall("SendMessage", { QueueUrl: url, MessageBody: "2" }, as);
    expect(throttled.status).toBe(403);
    expect(throttled.body.__type).toBe("com.amazonaws.sqs#RequestThrottled");
    expect(throttled.headers.get("retry-after")).toBe("1");
    const stats = await call("GET", `/v1/topics/${name}/stats`);
    expect(stats.body.partitions[0].next_offset).toBe(1);
  });
});
