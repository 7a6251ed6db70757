import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS } from "../../src/sqs/operations";
import { uniqueName } from "../helpers";
import { sqsCall } from "./client";

// Throws random and malformed inputs at every SQS operation, signed: each answer is 200 or an
// SQS error of status 4xx with its __type and x-amzn-query-error, never a 5xx.

const RUNS_PER_OPERATION = 25;

const MEMBERS = [
  "QueueUrl",
  "QueueName",
  "Attributes",
  "AttributeNames",
  "MessageSystemAttributeNames",
  "MessageAttributeNames",
  "MessageBody",
  "MessageAttributes",
  "MessageGroupId",
  "MessageDeduplicationId",
  "DelaySeconds",
  "MaxNumberOfMessages",
  "VisibilityTimeout",
  "ReceiptHandle",
  "Entries",
  "QueueNamePrefix",
  "MaxResults",
  "NextToken",
];

let queueUrl = "";

const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer({ min: -5, max: 100_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("All", ".*", "String", "true", "", "\u0000", "{}", "arn:aws:sqs:x:000000000000:q"),
);
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("any"), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 12 }), tie("any"), { maxKeys: 3 })),
})).any;

function input(): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      members: fc.dictionary(fc.constantFrom(...MEMBERS), value, { maxKeys: 5 }),
      queue: fc.constantFrom("fixture", "missing", "random"),
      body: fc.string({ maxLength: 50 }),
      entries: fc.array(fc.record({ Id: fc.string({ maxLength: 10 }), MessageBody: fc.string({ maxLength: 20 }), ReceiptHandle: fc.string({ maxLength: 20 }), VisibilityTimeout: fc.integer({ min: -1, max: 50_000 }) }), { maxLength: 12 }),
    },
  ).map(({ members, queue, body, entries }) => ({
    QueueUrl: queue === "fixture" ? queueUrl : queue === "missing" ? "http://weir.test/000000000000/missing" : body,
    MessageBody: body,
    Entries: entries,
    ...members,
  }));
}

beforeAll(async () => {
  const r = await sqsCall("CreateQueue", { QueueName: uniqueName("fuzz") });
  queueUrl = r.body.QueueUrl;
});

describe("every SQS operation, fuzzed", () => {
  for (const operation of Object.keys(OPERATIONS)) {
    it(`answers ${operation} with 200 or a 4xx SQS error`, { timeout: 60_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(input(), async (raw) => {
          const request = { ...raw };
          // Never wait, and never delete the fixture queue: each run must be quick and independent.
          if (operation === "ReceiveMessage") request.WaitTimeSeconds = 0;
          if (operation === "DeleteQueue" || operation === "PurgeQueue") request.QueueUrl = "http://weir.test/000000000000/missing";
          const r = await sqsCall(operation, request);
          if (r.status !== 200) {
            expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
            expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
            expect(r.body.__type).toMatch(/^com\.amazonaws\.sqs#\w+$/);
            expect(r.headers.get("x-amzn-query-error")).toMatch(/;Sender$/);
          }
        }),
        { numRuns: RUNS_PER_OPERATION },
      );
    });
  }

  it("refuses any malformed or forged Authorization header with a 403 SQS error", { timeout: 60_000 }, async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .record({
          credential: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("admin/20200101/us-east-1/sqs/aws4_request", "admin//x/sqs/aws4_request")),
          signed: fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("host;x-amz-date", "host;x-amz-date;x-amz-target")),
          signature: fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[0-9a-f]{64}$/)),
        })
        .map((p) => `AWS4-HMAC-SHA256 Credential=${p.credential}, SignedHeaders=${p.signed}, Signature=${p.signature}`),
    );
    await fc.assert(
      fc.asyncProperty(header, async (authorization) => {
        const response = await exports.default.fetch(
          new Request("http://weir.test/", {
            method: "POST",
            headers: { "x-amz-target": "AmazonSQS.ListQueues", "content-type": "application/x-amz-json-1.0", "x-amz-date": "20200101T000000Z", authorization },
            body: "{}",
          }),
        );
        const body = JSON.parse(new TextDecoder().decode(await response.arrayBuffer())) as { __type: string };
        expect(response.status, body.__type).toBe(403);
        expect(body.__type).toMatch(/^com\.amazonaws\.sqs#(MissingAuthenticationToken|IncompleteSignature|InvalidClientTokenId|SignatureDoesNotMatch)$/);
      }),
      { numRuns: 200 },
    );
  });
});
