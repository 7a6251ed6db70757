// The pinned SDK runs on Node 20; its warning is about versions published from 2027 on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

import { createHash } from "node:crypto";
import {
  BatchEntryIdsNotDistinct,
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  InvalidAttributeName,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  TooManyEntriesInBatchRequest,
  type Message,
  type MessageAttributeValue,
} from "@aws-sdk/client-sqs";
import { Consumer } from "sqs-consumer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../scripts/local-server.mjs";

const ADMIN_TOKEN = "weir-local-admin-token";

let server: LocalServer;
let sqs: SQSClient;
let counter = 0;

function client(accessKeyId: string, secretAccessKey: string, region = "eu-west-1"): SQSClient {
  // No retries: a test sees each answer as it is.
  return new SQSClient({ endpoint: server.url, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
}

/** A queue no other test uses. */
async function newQueue(attributes: Record<string, string> = {}, suffix = ""): Promise<{ name: string; url: string }> {
  const name = `q-${Date.now().toString(36)}-${++counter}${suffix}`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  return { name, url: QueueUrl! };
}

async function receive(url: string, max = 10, wait = 1, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}): Promise<Message[]> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: max, WaitTimeSeconds: wait, ...extra }));
  return out.Messages ?? [];
}

/** Receives until `count` messages came or `seconds` passed. */
async function receiveAll(url: string, count: number, seconds = 15, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}): Promise<Message[]> {
  const got: Message[] = [];
  const deadline = Date.now() + seconds * 1000;
  while (got.length < count && Date.now() < deadline) got.push(...(await receive(url, 10, 1, extra)));
  return got;
}

async function counts(url: string): Promise<Record<string, string>> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    }),
  );
  return out.Attributes ?? {};
}

/** SQS's MD5OfMessageAttributes, written again here from the SQS documentation, with Node's MD5. */
function referenceAttributesMd5(attributes: Record<string, MessageAttributeValue>): string {
  const hash = createHash("md5");
  const withLength = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const value = attributes[name]!;
    withLength(Buffer.from(name, "utf8"));
    withLength(Buffer.from(value.DataType!, "utf8"));
    if (value.DataType!.startsWith("Binary")) {
      hash.update(Buffer.from([2]));
      withLength(Buffer.from(value.BinaryValue!));
    } else {
      hash.update(Buffer.from([1]));
      withLength(Buffer.from(value.StringValue!, "utf8"));
    }
  }
  return hash.digest("hex");
}

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");

describe("the SQS-compatible endpoint, spoken to by @aws-sdk/client-sqs", () => {
  beforeAll(async () => {
    server = await startServer();
    sqs = client("admin", ADMIN_TOKEN);
  });
  afterAll(async () => {
    sqs?.destroy();
    await server?.stop();
  });

  it("creates a queue whose URL is the origin the client called, and finds and lists it", async () => {
    const { name, url } = await newQueue();
    expect(url).toBe(`${server.url}/000000000000/${name}`);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(url);
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    expect(listed.QueueUrls).toEqual([url]);
    // Creating it again with the same attributes answers the same URL.
    expect((await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl).toBe(url);
  });

  it("returns bodies byte for byte with the MD5s SQS computes, and message attributes", async () => {
    const { url } = await newQueue();
    const bodies = ["héllo wörld ✓ 🚀", '{"looks":"like JSON"}', "  spaces\n\ttabs\r\n", "x".repeat(200_000)];
    const attributes: Record<string, MessageAttributeValue> = {
      colour: { DataType: "String", StringValue: "blue ✓" },
      count: { DataType: "Number", StringValue: "42" },
      blob: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 255]) },
      "trace.id": { DataType: "String.custom", StringValue: "abc" },
    };
    for (const body of bodies) {
      const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attributes }));
      expect(sent.MD5OfMessageBody).toBe(md5(body));
      expect(sent.MD5OfMessageAttributes).toBe(referenceAttributesMd5(attributes));
    }
    const got = await receiveAll(url, bodies.length, 15, { MessageAttributeNames: ["All"] });
    expect(got.map((m) => m.Body).sort()).toEqual([...bodies].sort());
    for (const m of got) {
      expect(m.MD5OfBody).toBe(md5(m.Body!));
      expect(m.MessageAttributes?.colour).toEqual({ DataType: "String", StringValue: "blue ✓" });
      expect(m.MessageAttributes?.blob?.BinaryValue).toEqual(new Uint8Array([0, 1, 2, 255]));
      expect(m.MD5OfMessageAttributes).toBe(referenceAttributesMd5(attributes));
    }
  });

  it("answers only the message attributes and system attributes asked for", async () => {
    const { url } = await newQueue();
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "m",
        MessageAttributes: { "a.one": { DataType: "String", StringValue: "1" }, b: { DataType: "String", StringValue: "2" } },
      }),
    );
    const before = Date.now();
    const [m] = await receiveAll(url, 1, 10, {
      MessageAttributeNames: ["a.*"],
      MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
    });
    expect(Object.keys(m!.MessageAttributes ?? {})).toEqual(["a.one"]);
    expect(m!.MD5OfMessageAttributes).toBe(referenceAttributesMd5({ "a.one": { DataType: "String", StringValue: "1" } }));
    expect(m!.Attributes).toEqual({ ApproximateReceiveCount: "1", SentTimestamp: expect.any(String) });
    expect(Number(m!.Attributes!.SentTimestamp)).toBeLessThanOrEqual(before);
  });

  it("sends, deletes and changes visibility in batches, answering per entry", async () => {
    const { url } = await newQueue();
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "a", MessageBody: "one" },
          { Id: "b", MessageBody: "bad \u0000 character" },
          { Id: "c", MessageBody: "three" },
        ],
      }),
    );
    expect(sent.Successful?.map((e) => e.Id)).toEqual(["a", "c"]);
    expect(sent.Failed).toEqual([expect.objectContaining({ Id: "b", SenderFault: true, Code: "InvalidMessageContents" })]);

    const got = await receiveAll(url, 2);
    expect(got.map((m) => m.Body).sort()).toEqual(["one", "three"]);
    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "x", ReceiptHandle: got[0]!.ReceiptHandle!, VisibilityTimeout: 600 },
          { Id: "y", ReceiptHandle: "not-a-receipt", VisibilityTimeout: 600 },
        ],
      }),
    );
    expect(changed.Successful).toEqual([{ Id: "x" }]);
    expect(changed.Failed).toEqual([expect.objectContaining({ Id: "y", Code: "ReceiptHandleIsInvalid" })]);

    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })) }),
    );
    expect(deleted.Successful).toHaveLength(2);
    expect(deleted.Failed ?? []).toEqual([]);
    expect(await counts(url)).toMatchObject({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("gives a message back at once with ChangeMessageVisibility 0, its receive count grown", async () => {
    const { url } = await newQueue();
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "again" }));
    const [first] = await receiveAll(url, 1);
    expect(await receive(url, 10, 0)).toEqual([]);
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle!, VisibilityTimeout: 0 }));
    const [second] = await receiveAll(url, 1, 10, { MessageSystemAttributeNames: ["All"] });
    expect(second!.MessageId).toBe(first!.MessageId);
    expect(second!.Attributes?.ApproximateReceiveCount).toBe("2");
    // The first delivery's handle no longer deletes it: it was delivered again since.
    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle! }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second!.ReceiptHandle! }));
  });

  it("wakes a long poll as soon as a message is sent", async () => {
    const { url } = await newQueue();
    const started = Date.now();
    const polling = receive(url, 1, 20);
    await new Promise((r) => setTimeout(r, 1000));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "wake up" }));
    const got = await polling;
    expect(got.map((m) => m.Body)).toEqual(["wake up"]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("counts, delays, sets attributes, purges and deletes a queue", async () => {
    const { url } = await newQueue({ VisibilityTimeout: "45", ReceiveMessageWaitTimeSeconds: "1" });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "later", DelaySeconds: 600 }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "now 1" }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "now 2" }));
    await receiveAll(url, 1, 10, { MaxNumberOfMessages: 1 });
    expect(await counts(url)).toEqual({
      ApproximateNumberOfMessages: "1",
      ApproximateNumberOfMessagesNotVisible: "1",
      ApproximateNumberOfMessagesDelayed: "1",
    });

    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: "5", MessageRetentionPeriod: "3600" } }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
    expect(Attributes).toMatchObject({
      VisibilityTimeout: "45",
      ReceiveMessageWaitTimeSeconds: "1",
      DelaySeconds: "5",
      MessageRetentionPeriod: "3600",
      QueueArn: expect.stringMatching(/^arn:aws:sqs:eu-west-1:000000000000:q-/),
    });
    expect(Attributes).not.toHaveProperty("FifoQueue");

    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(await receive(url, 10, 0)).toEqual([]);
    expect(await counts(url)).toMatchObject({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesDelayed: "0" });

    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    await expect(sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it("answers errors as SQS words them, with the query-protocol code", async () => {
    const { name, url } = await newQueue();
    const missing = await sqs.send(new GetQueueUrlCommand({ QueueName: "no-such-queue" })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(QueueDoesNotExist);
    expect(missing).toMatchObject({ Code: "AWS.SimpleQueueService.NonExistentQueue", $metadata: { httpStatusCode: 400 } });

    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "bogus" }))).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
    await expect(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "a", MessageBody: "1" }, { Id: "a", MessageBody: "2" }] })),
    ).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] }))).rejects.toBeInstanceOf(EmptyBatchRequest);
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" }));
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: eleven }))).rejects.toBeInstanceOf(
      TooManyEntriesInBatchRequest,
    );
    await expect(
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["NoSuchAttribute" as "All"] })),
    ).rejects.toBeInstanceOf(InvalidAttributeName);
    await expect(sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "99" } }))).rejects.toBeInstanceOf(
      QueueNameExists,
    );
    await expect(sqs.send(new CreateQueueCommand({ QueueName: "bad name!" }))).rejects.toMatchObject({ name: "InvalidParameterValue" });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "" }))).rejects.toMatchObject({ name: "MissingParameter" });
    await expect(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
    ).rejects.toMatchObject({ name: "InvalidParameterValue", message: expect.stringContaining("MaxNumberOfMessages") });
  });

  it("refuses a wrong signature or an unknown access key, and does nothing", async () => {
    const { url } = await newQueue();
    const forger = client("admin", "not-the-admin-token");
    await expect(forger.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "forged" }))).rejects.toMatchObject({
      name: "SignatureDoesNotMatch",
      $metadata: { httpStatusCode: 403 },
    });
    const stranger = client("0000000000000000", "whatever");
    await expect(stranger.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "forged" }))).rejects.toMatchObject({
      name: "InvalidClientTokenId",
    });
    forger.destroy();
    stranger.destroy();
    expect(await counts(url)).toMatchObject({ ApproximateNumberOfMessages: "0" });
  });

  it("gives an API key SQS credentials with its scopes applied per queue", async () => {
    const mine = await newQueue();
    const other = await newQueue();
    const created = await fetch(`${server.url}/v1/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "sqs-worker", scopes: [`produce:${mine.name}`, `consume:${mine.name}`] }),
    });
    expect(created.status).toBe(201);
    const { sqs: credentials } = (await created.json()) as { sqs: { access_key_id: string; secret_access_key: string } };
    const worker = client(credentials.access_key_id, credentials.secret_access_key, "us-east-1");
    try {
      await worker.send(new SendMessageCommand({ QueueUrl: mine.url, MessageBody: "allowed" }));
      const got = await worker.send(new ReceiveMessageCommand({ QueueUrl: mine.url, WaitTimeSeconds: 5 }));
      expect(got.Messages?.map((m) => m.Body)).toEqual(["allowed"]);
      await expect(worker.send(new SendMessageCommand({ QueueUrl: other.url, MessageBody: "denied" }))).rejects.toMatchObject({
        name: "AccessDenied",
        $metadata: { httpStatusCode: 403 },
      });
      await expect(worker.send(new CreateQueueCommand({ QueueName: "not-allowed" }))).rejects.toMatchObject({ name: "AccessDenied" });
      const listed = await worker.send(new ListQueuesCommand({ QueueNamePrefix: "q-" }));
      expect(listed.QueueUrls).toEqual([mine.url]);
    } finally {
      worker.destroy();
    }
    expect(await counts(other.url)).toMatchObject({ ApproximateNumberOfMessages: "0" });
  });

  it("delivers a FIFO queue's groups in order, one in flight per group, deduplicated for five minutes", async () => {
    const { url } = await newQueue({ FifoQueue: "true" }, ".fifo");
    for (const [group, body] of [["g1", "g1-a"], ["g2", "g2-a"], ["g1", "g1-b"], ["g2", "g2-b"], ["g1", "g1-c"]]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body!, MessageGroupId: group, MessageDeduplicationId: body }));
    }
    // A repeat within the window is stored once and answered with the first copy's id.
    const first = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "g1-a", MessageGroupId: "g1", MessageDeduplicationId: "g1-a" }));
    expect(first.MessageId).toBe("g1-a");
    expect(first.SequenceNumber).toMatch(/^\d+$/);

    const seen: string[] = [];
    for (let round = 0; round < 3; round++) {
      const got = await receive(url, 10, 2, { MessageSystemAttributeNames: ["All"] });
      // Only the head of each group is delivered while the one before it is in flight.
      const groups = got.map((m) => m.Attributes?.MessageGroupId);
      expect(new Set(groups).size).toBe(groups.length);
      for (const m of got) {
        seen.push(m.Body!);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
      }
    }
    expect(seen.filter((b) => b.startsWith("g1"))).toEqual(["g1-a", "g1-b", "g1-c"]);
    expect(seen.filter((b) => b.startsWith("g2"))).toEqual(["g2-a", "g2-b"]);

    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "no group", MessageDeduplicationId: "x" }))).rejects.toMatchObject({
      name: "MissingParameter",
    });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "no id", MessageGroupId: "g" }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
  });

  it("deduplicates a FIFO queue by content when ContentBasedDeduplication is on", async () => {
    const { url } = await newQueue({ FifoQueue: "true", ContentBasedDeduplication: "true" }, ".fifo");
    const a = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "same", MessageGroupId: "g" }));
    const b = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "same", MessageGroupId: "g" }));
    expect(b.MessageId).toBe(a.MessageId);
    expect(a.MessageId).toBe(createHash("sha256").update("same").digest("hex"));
    expect(await counts(url)).toMatchObject({ ApproximateNumberOfMessages: "1" });
  });

  it("moves a message to the dead-letter queue its RedrivePolicy names after maxReceiveCount receives", async () => {
    const dlq = await newQueue();
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.url, AttributeNames: ["QueueArn"] }));
    const redrive = JSON.stringify({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 2 });
    const source = await newQueue({ RedrivePolicy: redrive });
    const policy = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: source.url, AttributeNames: ["RedrivePolicy"] }));
    expect(JSON.parse(policy.Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: Attributes!.QueueArn, maxReceiveCount: 2 });

    await sqs.send(
      new SendMessageCommand({ QueueUrl: source.url, MessageBody: "poison", MessageAttributes: { k: { DataType: "String", StringValue: "v" } } }),
    );
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [m] = await receiveAll(source.url, 1);
      expect(m?.Body).toBe("poison");
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: source.url, ReceiptHandle: m!.ReceiptHandle!, VisibilityTimeout: 0 }));
    }
    const [dead] = await receiveAll(dlq.url, 1, 20, { MessageAttributeNames: ["All"] });
    expect(dead?.Body).toBe("poison");
    expect(dead?.MessageAttributes?.k).toEqual({ DataType: "String", StringValue: "v" });
    expect(dead?.MD5OfBody).toBe(md5("poison"));
    expect(await receive(source.url, 10, 0)).toEqual([]);

    await expect(
      sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: source.url,
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:eu-west-1:000000000000:nowhere", maxReceiveCount: 2 }) },
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidParameterValue" });
  });

  it("runs an sqs-consumer handler over a queue, deleting what it handled", async () => {
    const { url } = await newQueue();
    const bodies = Array.from({ length: 12 }, (_, i) => `job ${i}`);
    for (let i = 0; i < bodies.length; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: url, Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: `m${i + j}`, MessageBody: b })) }),
      );
    }
    const handled: string[] = [];
    const errors: Error[] = [];
    const done = new Promise<void>((resolve) => {
      const consumer = Consumer.create({
        queueUrl: url,
        sqs,
        batchSize: 5,
        waitTimeSeconds: 1,
        handleMessage: async (message) => {
          handled.push(message.Body!);
          if (handled.length === bodies.length) setTimeout(() => (consumer.stop({ abort: false }), resolve()), 200);
          return message;
        },
      });
      consumer.on("error", (e) => errors.push(e));
      consumer.on("processing_error", (e) => errors.push(e));
      consumer.start();
    });
    await done;
    expect(errors).toEqual([]);
    expect(handled.sort()).toEqual([...bodies].sort());
    // Give the last deletes a moment: the consumer deletes after its handler resolves.
    await new Promise((r) => setTimeout(r, 500));
    expect(await counts(url)).toMatchObject({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("logs no error and no stack trace", () => {
    const log = server.log();
    expect(log).not.toMatch(/\berror\b/i);
    expect(log).not.toMatch(/^\s+at /m);
  });
});
