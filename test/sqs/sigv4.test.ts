import { describe, expect, it } from "vitest";
import { SqsError } from "../../src/sqs/errors";
import { readClaims, signature, verifySignature, type RequestToSign } from "../../src/sqs/sigv4";

// The AWS Signature Version 4 test suite's example credentials and request time.
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AT = "20150830T123600Z";
const AT_MS = Date.UTC(2015, 7, 30, 12, 36, 0);

function suiteRequest(path: string, signatureHex = "0".repeat(64), service = "service"): { request: RequestToSign; headers: Headers } {
  const headers = new Headers({
    host: "example.amazonaws.com",
    "x-amz-date": AT,
    authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signatureHex}`,
  });
  return { request: { method: "GET", url: new URL(`https://example.amazonaws.com${path}`), headers, body: new Uint8Array(0) }, headers };
}

async function refusal(promise: Promise<unknown>): Promise<SqsError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SqsError);
  return error as SqsError;
}

describe("SigV4 verification", () => {
  it("computes the test suite's get-vanilla signature", async () => {
    const { request, headers } = suiteRequest("/");
    expect(await signature(request, readClaims(headers), SECRET)).toBe("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  });

  it("sorts the query string as the test suite's get-vanilla-query-order-key-case expects", async () => {
    const { request, headers } = suiteRequest("/?Param2=value2&Param1=value1");
    expect(await signature(request, readClaims(headers), SECRET)).toBe("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  });

  it("accepts the right signature for its service within the clock skew", async () => {
    const { headers } = suiteRequest("/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    const { request } = suiteRequest("/");
    await expect(verifySignature({ ...request, headers }, readClaims(headers), SECRET, "service", AT_MS + 14 * 60_000)).resolves.toBeUndefined();
  });

  it("refuses a signature made with another secret as SignatureDoesNotMatch", async () => {
    const { request, headers } = suiteRequest("/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    const error = await refusal(verifySignature({ ...request, headers }, readClaims(headers), `${SECRET}x`, "service", AT_MS));
    expect(error.code).toBe("SignatureDoesNotMatch");
  });

  it("refuses a request more than 15 minutes from the server's clock, either way", async () => {
    const { request, headers } = suiteRequest("/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    const late = await refusal(verifySignature({ ...request, headers }, readClaims(headers), SECRET, "service", AT_MS + 16 * 60_000));
    expect(late.code).toBe("SignatureDoesNotMatch");
    expect(late.message).toMatch(/^Signature expired/);
    const early = await refusal(verifySignature({ ...request, headers }, readClaims(headers), SECRET, "service", AT_MS - 16 * 60_000));
    expect(early.message).toMatch(/^Signature not yet current/);
  });

  it("refuses a signature scoped to another service", async () => {
    const { request, headers } = suiteRequest("/", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    const error = await refusal(verifySignature({ ...request, headers }, readClaims(headers), SECRET, "sqs", AT_MS));
    expect(error.message).toContain("'sqs'");
  });

  it("refuses a request whose signed body was changed", async () => {
    const body = new TextEncoder().encode('{"QueueName":"a"}');
    const { request, headers } = suiteRequest("/");
    const claims = readClaims(headers);
    const signed = await signature({ ...request, method: "POST", body }, claims, SECRET);
    const changed = new TextEncoder().encode('{"QueueName":"b"}');
    const error = await refusal(verifySignature({ ...request, method: "POST", body: changed }, { ...claims, signature: signed }, SECRET, "service", AT_MS));
    expect(error.code).toBe("SignatureDoesNotMatch");
  });

  it("tells a missing Authorization header from a malformed one", () => {
    expect(() => readClaims(new Headers())).toThrow(expect.objectContaining({ code: "MissingAuthenticationToken" }));
    expect(() => readClaims(new Headers({ authorization: "Bearer x" }))).toThrow(expect.objectContaining({ code: "IncompleteSignature" }));
    const unsignedHost = new Headers({
      "x-amz-date": AT,
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, SignedHeaders=x-amz-date, Signature=${"0".repeat(64)}`,
    });
    expect(() => readClaims(unsignedHost)).toThrow(expect.objectContaining({ code: "IncompleteSignature" }));
  });
});
