// The AWS JSON 1.0 protocol of Amazon SQS: a POST whose X-Amz-Target names the operation,
// a JSON body, a JSON answer with x-amzn-RequestId, errors as errors.ts words them.
// src/index.ts sends a request here, before the REST router, when it has such a target.

import type { Env } from "../env";
import { MAX_PRODUCE_REQUEST_BYTES, MAX_REQUEST_HEADER_BYTES, MAX_REQUEST_HEADERS, MAX_URL_LENGTH } from "../shared/limits";
import { authenticate, identify } from "./access";
import { SqsError } from "./errors";
import { OPERATIONS, type SqsCall } from "./operations";
import { readBounded } from "../shared/bytes";

const TARGET_PREFIX = "AmazonSQS.";
const CONTENT_TYPE = "application/x-amz-json-1.0";

/** Whether `request` speaks the SQS protocol (has `X-Amz-Target: AmazonSQS.<Operation>`). */
export function isSqsRequest(request: Request): boolean {
  return request.headers.get("x-amz-target")?.startsWith(TARGET_PREFIX) ?? false;
}

/** Answers one SQS request. Never throws: every failure is an SQS error response. */
export async function handleSqs(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const requestId = crypto.randomUUID();
  try {
    const output = await run(request, env, ctx, requestId);
    return answer(200, output, requestId);
  } catch (caught) {
    let error = caught;
    if (!(error instanceof SqsError)) {
      const name = error instanceof Error ? error.name : "unknown";
      const message = error instanceof Error ? error.message : String(error);
      console.error(JSON.stringify({ event: "sqs_unhandled_error", name, message, requestId }));
      error = new SqsError("InternalFailure", "The request processing has failed because of an unknown error.");
    }
    const sqs = error as SqsError;
    const headers: Record<string, string> = { "x-amzn-query-error": sqs.queryError };
    if (sqs.retryAfter !== undefined) headers["retry-after"] = String(sqs.retryAfter);
    return answer(sqs.status, sqs.toBody(), requestId, headers);
  }
}

async function run(request: Request, env: Env, ctx: ExecutionContext, requestId: string): Promise<object> {
  if (!env.ADMIN_TOKEN) {
    throw new SqsError("ServiceUnavailable", "The server has no ADMIN_TOKEN; set it with `wrangler secret put ADMIN_TOKEN`.");
  }
  checkRequestLimits(request);
  if (request.method !== "POST") throw new SqsError("InvalidAction", `The AWS JSON protocol needs POST, not ${request.method}.`);
  // Who it claims to be first: a request of no known access key is refused before its body is read.
  const claimed = await identify(env, request.headers);
  const body = await readBody(request);
  const url = new URL(request.url);
  const principal = await authenticate({ method: request.method, url, headers: request.headers, body }, claimed);

  const name = request.headers.get("x-amz-target")!.slice(TARGET_PREFIX.length);
  const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (!operation) throw new SqsError("InvalidAction", `The action ${name} is not valid for this endpoint.`);
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== CONTENT_TYPE) {
    throw new SqsError("SerializationException", `Send the body as ${CONTENT_TYPE} (the AWS JSON 1.0 protocol); the AWS query protocol is not supported.`);
  }
  let input: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
    input = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    throw new SqsError("SerializationException", "The request body is not valid JSON.");
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new SqsError("SerializationException", "The request body must be a JSON object.");
  }
  // The origin the client called: the host it signed, with the scheme it used.
  const origin = `${url.protocol}//${request.headers.get("host") ?? url.host}`;
  const call: SqsCall = { env, ctx, principal, origin, requestId, signal: request.signal };
  return operation(call, input);
}

/** The REST API's limits on the URL and headers (src/http/request-limits.ts), before anything reads them. */
function checkRequestLimits(request: Request): void {
  if (request.url.length > MAX_URL_LENGTH) {
    throw new SqsError("InvalidParameterValue", `The URL of ${request.url.length} characters exceeds the limit of ${MAX_URL_LENGTH}.`);
  }
  let count = 0;
  let bytes = 0;
  for (const [name, value] of request.headers) {
    count++;
    bytes += name.length + value.length;
  }
  if (count > MAX_REQUEST_HEADERS || bytes > MAX_REQUEST_HEADER_BYTES) {
    throw new SqsError(
      "InvalidParameterValue",
      `The request headers (${count}, ${bytes} bytes) exceed the limit of ${MAX_REQUEST_HEADERS} headers or ${MAX_REQUEST_HEADER_BYTES} bytes.`,
    );
  }
}

/** The body's bytes, refused (413-like InvalidParameterValue) past MAX_PRODUCE_REQUEST_BYTES. */
async function readBody(request: Request): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  const tooLong = () =>
    new SqsError("InvalidParameterValue", `The request body exceeds the limit of ${MAX_PRODUCE_REQUEST_BYTES} bytes.`);
  if (declared > MAX_PRODUCE_REQUEST_BYTES) throw tooLong();
  const body = await readBounded(request.body, MAX_PRODUCE_REQUEST_BYTES);
  if (!body) throw tooLong();
  return body;
}

function answer(status: number, body: object, requestId: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": CONTENT_TYPE,
      "x-amzn-requestid": requestId,
      // SDKs correct their clock from this when a signature is refused as expired.
      date: new Date().toUTCString(),
      ...headers,
    },
  });
}
