import { exports } from "cloudflare:workers";
import { signature, type SignedRequestClaims } from "../../src/sqs/sigv4";
import { ADMIN_TOKEN } from "../helpers";

export interface SqsAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface SignOptions {
  accessKeyId?: string;
  secret?: string;
  /** The request's time; now if not given. */
  at?: Date;
  service?: string;
  /** Sign and send this text as the body instead of the input's JSON. */
  rawBody?: string;
  /** Sign the body but send this one. */
  sendBody?: string;
  contentType?: string;
  unsigned?: boolean;
}

function amzDate(at: Date): string {
  return at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Calls the Worker with one SQS operation, signed as an AWS SDK signs it (admin credentials unless told). */
export async function sqsCall<T = any>(operation: string, input: unknown, options: SignOptions = {}): Promise<SqsAnswer<T>> {
  const url = new URL("http://weir.test/");
  const text = options.rawBody ?? JSON.stringify(input);
  const headers = new Headers({
    host: url.host,
    "content-type": options.contentType ?? "application/x-amz-json-1.0",
    "x-amz-target": `AmazonSQS.${operation}`,
    "x-amz-date": amzDate(options.at ?? new Date()),
  });
  if (!options.unsigned) {
    const date = headers.get("x-amz-date")!;
    const claims: SignedRequestClaims = {
      accessKeyId: options.accessKeyId ?? "admin",
      scopeDate: date.slice(0, 8),
      region: "us-east-1",
      service: options.service ?? "sqs",
      signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-target"],
      signature: "",
      amzDate: date,
    };
    const sig = await signature({ method: "POST", url, headers, body: new TextEncoder().encode(text) }, claims, options.secret ?? ADMIN_TOKEN);
    const scope = `${claims.scopeDate}/${claims.region}/${claims.service}/aws4_request`;
    headers.set(
      "authorization",
      `AWS4-HMAC-SHA256 Credential=${claims.accessKeyId}/${scope}, SignedHeaders=${claims.signedHeaders.join(";")}, Signature=${sig}`,
    );
  }
  const response = await exports.default.fetch(new Request(url, { method: "POST", headers, body: options.sendBody ?? text }));
  // Read as bytes: workerd warns when .text() meets a content type it does not know as text.
  const raw = new TextDecoder().decode(await response.arrayBuffer());
  return { status: response.status, body: JSON.parse(raw) as T, headers: response.headers };
}
