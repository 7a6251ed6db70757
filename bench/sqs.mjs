// `npm run bench:sqs`: what speaking SQS costs next to the REST API, on one local `wrangler dev`
// (the same as `npm start`, temporary state, no network). Sequential requests over keep-alive:
// produce one message / SendMessage, then receive one and ack it / ReceiveMessage + DeleteMessage,
// each BENCH_SQS_REQUESTS times after a warm-up. Prints p50 and p95 in ms. The SQS figures
// include the AWS SDK's own work in this process (serializing, signing, MD5 checks).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { startServer } from "../scripts/local-server.mjs";

const REQUESTS = Number(process.env.BENCH_SQS_REQUESTS ?? 300);
const WARMUP = 30;
const TOKEN = "bench-admin-token";

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(label, n, once) {
  for (let i = 0; i < WARMUP; i++) await once(i);
  const ms = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { label, p50: percentile(ms, 50), p95: percentile(ms, 95) };
}

const server = await startServer({ vars: { ADMIN_TOKEN: TOKEN } });
try {
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const rest = (method, path, body) =>
    fetch(`${server.url}${path}`, { method, headers, body: body && JSON.stringify(body) }).then(async (r) => {
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      return r.status === 204 ? null : r.json();
    });
  await rest("PUT", "/v1/topics/bench-rest", {});
  await rest("PUT", "/v1/topics/bench-rest/subscriptions/s", { start_position: "earliest" });
  const sqs = new SQSClient({ endpoint: server.url, region: "us-east-1", credentials: { accessKeyId: "admin", secretAccessKey: TOKEN } });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "bench-sqs" }));
  const body = "x".repeat(256);

  const rows = [
    await timed("REST produce 1 message", REQUESTS, () => rest("POST", "/v1/topics/bench-rest/messages", { messages: [{ body }] })),
    await timed("SQS SendMessage", REQUESTS, () => sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }))),
    await timed("REST receive 1 + ack", REQUESTS, async () => {
      const got = await rest("POST", "/v1/topics/bench-rest/subscriptions/s/receive", { max_messages: 1, wait_seconds: 1 });
      await rest("POST", "/v1/topics/bench-rest/subscriptions/s/ack", { receipts: got.messages.map((m) => m.receipt) });
    }),
    await timed("SQS ReceiveMessage 1 + DeleteMessage", REQUESTS, async () => {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }));
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle }));
    }),
  ];
  console.log(`${REQUESTS} sequential requests each, after ${WARMUP} warm-up; body ${body.length} bytes`);
  console.log("| case | p50 ms | p95 ms |\n| --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.label} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} |`);
  sqs.destroy();
} finally {
  await server.stop();
}
