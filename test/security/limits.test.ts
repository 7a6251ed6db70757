import { describe, expect, it } from "vitest";
import {
  MAX_AUTHORIZATION_LENGTH,
  MAX_REQUEST_HEADER_BYTES,
  MAX_REQUEST_HEADERS,
  MAX_URL_LENGTH,
} from "../../src/shared/limits";
import { call, createSubscription, createTopic } from "../helpers";

// Limits of the request itself, checked before the key is. Limits of bodies (size, batch,
// names, headers of messages, wait) are cases of test/http/bad-input.test.ts.
describe("request limits", () => {
  it(`answers 414 uri_too_long to a URL over ${MAX_URL_LENGTH} characters`, async () => {
    const r = await call("GET", `/v1/topics/${"a".repeat(MAX_URL_LENGTH)}`);
    expect(r.status).toBe(414);
    expect(r.body.error.code).toBe("uri_too_long");
    expect(r.body.error.message).toContain(String(MAX_URL_LENGTH));
  });

  it(`answers 431 request_headers_too_large to more than ${MAX_REQUEST_HEADERS} headers`, async () => {
    const headers = Object.fromEntries(Array.from({ length: MAX_REQUEST_HEADERS }, (_, i) => [`x-h${i}`, "1"]));
    const r = await call("GET", "/v1/topics", undefined, { headers });
    expect(r.status).toBe(431);
    expect(r.body.error.code).toBe("request_headers_too_large");
  });

  it(`answers 431 to headers of more than ${MAX_REQUEST_HEADER_BYTES} bytes`, async () => {
    const r = await call("GET", "/v1/topics", undefined, { headers: { "x-big": "x".repeat(MAX_REQUEST_HEADER_BYTES) } });
    expect(r.status).toBe(431);
    expect(r.body.error.message).toContain(String(MAX_REQUEST_HEADER_BYTES));
  });

  it(`answers 431 naming authorization to a key over ${MAX_AUTHORIZATION_LENGTH} characters`, async () => {
    const r = await call("GET", "/v1/topics", undefined, { token: "x".repeat(MAX_AUTHORIZATION_LENGTH) });
    expect(r.status).toBe(431);
    expect(r.body.error.message).toContain("authorization");
  });

  it("refuses before the request does anything", async () => {
    const topic = await createTopic();
    const sub = await createSubscription(topic);
    const headers = Object.fromEntries(Array.from({ length: MAX_REQUEST_HEADERS + 1 }, (_, i) => [`x-h${i}`, "1"]));
    const r = await call("DELETE", `/v1/topics/${topic}/subscriptions/${sub}`, undefined, { headers });
    expect(r.status).toBe(431);
    expect((await call("GET", `/v1/topics/${topic}/subscriptions/${sub}`)).status).toBe(200);
  });

  it("answers a request within every limit", async () => {
    const headers = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`x-h${i}`, "v".repeat(100)]));
    expect((await call("GET", "/v1/topics", undefined, { headers })).status).toBe(200);
  });
});
