// AWS Signature Version 4, verified with WebCrypto: the way SQS clients prove who they are.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
// Only the Authorization header form (what SDKs send), not presigned URLs.

import { hex } from "../shared/encoding";
import { IsolateMemo } from "../shared/isolate-memo";
import { SQS_MAX_CACHED_SIGNING_KEYS as MAX_SIGNING_KEYS, SQS_MAX_CLOCK_SKEW_MS as MAX_CLOCK_SKEW_MS } from "../shared/limits";
import { SqsError } from "./errors";

const ALGORITHM = "AWS4-HMAC-SHA256";

/** What the Authorization header claims, before the secret is known. */
export interface SignedRequestClaims {
  accessKeyId: string;
  /** YYYYMMDD, of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  /** Lower-case header names, in the order signed. */
  signedHeaders: string[];
  /** Lower-case hex. */
  signature: string;
  /** The request's time, YYYYMMDD'T'HHMMSS'Z', from X-Amz-Date (or Date). */
  amzDate: string;
}

const CREDENTIAL = /^([^/\s]{1,128})\/(\d{8})\/([a-z0-9-]{1,64})\/([a-z0-9-]{1,64})\/aws4_request$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * The claims of a request's Authorization header. Throws SqsError: MissingAuthenticationToken
 * without one, IncompleteSignature when it is not a well-formed SigV4 header.
 */
export function readClaims(headers: Headers): SignedRequestClaims {
  const header = headers.get("authorization");
  if (!header) throw new SqsError("MissingAuthenticationToken", "Request is missing Authentication Token");
  if (!header.startsWith(`${ALGORITHM} `)) {
    throw new SqsError("IncompleteSignature", `Authorization must use the ${ALGORITHM} algorithm (AWS Signature Version 4)`);
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = CREDENTIAL.exec(fields.get("Credential") ?? "");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || !signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature)) {
    throw new SqsError(
      "IncompleteSignature",
      "Authorization must hold Credential=<key id>/<date>/<region>/sqs/aws4_request, SignedHeaders and Signature",
    );
  }
  const names = signedHeaders.split(";");
  const amzDate = headers.get("x-amz-date") ?? "";
  const dateHeader = amzDate ? "x-amz-date" : "date";
  const date = amzDate || isoBasic(headers.get("date"));
  if (!date || !names.includes("host") || !names.includes(dateHeader)) {
    throw new SqsError("IncompleteSignature", "the signature must cover the host and x-amz-date headers");
  }
  const [, accessKeyId, scopeDate, region, service] = credential as unknown as [string, string, string, string, string];
  return { accessKeyId, scopeDate, region, service, signedHeaders: names, signature, amzDate: date };
}

/** An HTTP Date header as YYYYMMDD'T'HHMMSS'Z', or null. */
function isoBasic(value: string | null): string | null {
  const ms = value ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) return null;
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Milliseconds since the epoch of an X-Amz-Date value, or NaN. */
export function amzDateMs(amzDate: string): number {
  const m = AMZ_DATE.exec(amzDate);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** What a signature covers of a request. */
export interface RequestToSign {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

/**
 * Whether `claims.signature` is the SigV4 signature of `request` with `secret`, the request's
 * time within MAX_CLOCK_SKEW_MS of `nowMs`, and the scope that of `service`. Throws SqsError
 * SignatureDoesNotMatch (with the reason) otherwise. Constant-time comparison.
 */
export async function verifySignature(
  request: RequestToSign,
  claims: SignedRequestClaims,
  secret: string,
  service: string,
  nowMs: number,
): Promise<void> {
  const at = amzDateMs(claims.amzDate);
  if (Number.isNaN(at)) throw new SqsError("IncompleteSignature", `X-Amz-Date ${claims.amzDate} is not YYYYMMDDTHHMMSSZ`);
  if (Math.abs(nowMs - at) > MAX_CLOCK_SKEW_MS) {
    const bound = isoBasic(new Date(nowMs + (at < nowMs ? -MAX_CLOCK_SKEW_MS : MAX_CLOCK_SKEW_MS)).toUTCString());
    throw new SqsError(
      "SignatureDoesNotMatch",
      at < nowMs
        ? `Signature expired: ${claims.amzDate} is now earlier than ${bound} (${new Date(nowMs).toISOString()} - 15 min.)`
        : `Signature not yet current: ${claims.amzDate} is still later than ${bound} (${new Date(nowMs).toISOString()} + 15 min.)`,
    );
  }
  if (claims.service !== service) {
    throw new SqsError("SignatureDoesNotMatch", `Credential should be scoped to correct service: '${service}'.`);
  }
  if (claims.scopeDate !== claims.amzDate.slice(0, 8)) {
    throw new SqsError("SignatureDoesNotMatch", `Date in Credential scope does not match YYYYMMDD from X-Amz-Date.`);
  }
  const expected = await signature(request, claims, secret);
  const given = new TextEncoder().encode(claims.signature);
  const wanted = new TextEncoder().encode(expected);
  if (given.byteLength !== wanted.byteLength || !crypto.subtle.timingSafeEqual(given, wanted)) {
    throw new SqsError(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
    );
  }
}

/** The SigV4 signature (lower-case hex) of `request` under `claims`' scope and signed headers. */
export async function signature(request: RequestToSign, claims: SignedRequestClaims, secret: string): Promise<string> {
  const scope = `${claims.scopeDate}/${claims.region}/${claims.service}/aws4_request`;
  const stringToSign = [ALGORITHM, claims.amzDate, scope, hex(await sha256(canonicalRequest(request, claims, hex(await sha256(request.body)))))].join("\n");
  const key = await signingKey(secret, claims.scopeDate, claims.region, claims.service);
  return hex(await hmac(key, stringToSign));
}

/** The canonical request: method, path, query, signed headers and the payload's hash. */
export function canonicalRequest(request: RequestToSign, claims: Pick<SignedRequestClaims, "signedHeaders">, payloadHash: string): string {
  const headers = claims.signedHeaders
    .map((name) => {
      const value = name === "host" ? (request.headers.get("host") ?? request.url.host) : (request.headers.get(name) ?? "");
      return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  return [
    request.method.toUpperCase(),
    canonicalPath(request.url.pathname),
    canonicalQuery(request.url.searchParams),
    headers,
    claims.signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
}

/** The path as AWS SDKs sign it for services other than S3: normalized, each segment encoded again. */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join("/")}${segments.length > 0 && path.endsWith("/") ? "/" : ""}`;
  return uriEncode(normalized).replace(/%2F/g, "/");
}

function canonicalQuery(params: URLSearchParams): string {
  return [...params]
    .filter(([key]) => key !== "X-Amz-Signature")
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// Signing keys change once a day per secret and region: derive each once per isolate.
const signingKeys = new IsolateMemo<string, Promise<CryptoKey>>(MAX_SIGNING_KEYS);

async function signingKey(secret: string, date: string, region: string, service: string): Promise<CryptoKey> {
  const cacheKey = JSON.stringify([secret, date, region, service]);
  return signingKeys.getOrMake(cacheKey, () => {
    const key = (async () => {
      let k = await importHmacKey(new TextEncoder().encode(`AWS4${secret}`));
      for (const part of [date, region, service, "aws4_request"]) k = await importHmacKey(new Uint8Array(await hmac(k, part)));
      return k;
    })();
    key.catch(() => signingKeys.delete(cacheKey));
    return key;
  });
}

function importHmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

function hmac(key: CryptoKey, text: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
}

function sha256(data: Uint8Array | string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", typeof data === "string" ? new TextEncoder().encode(data) : data);
}
