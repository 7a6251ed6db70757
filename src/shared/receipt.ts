/**
 * A receipt names one delivery of one message to one subscription: the topic and subscription
 * incarnations (so a receipt outlives neither), the partition, the offset and the lease nonce
 * that the partition drew for this delivery. It is opaque to clients: base64url text.
 */
export interface Receipt {
  topicUid: string;
  subscriptionUid: string;
  partition: number;
  offset: number;
  nonce: string;
}

const VERSION = "r1";
const TOKEN = /^[0-9A-Z]{1,64}$/;

export function encodeReceipt(r: Receipt): string {
  const text = [VERSION, r.topicUid, r.subscriptionUid, r.partition, r.offset, r.nonce].join(".");
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The receipt inside `token`, or null when it is not one this service made. */
export function decodeReceipt(token: string): Receipt | null {
  if (token.length > 512 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  let text: string;
  try {
    text = atob(token.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
  const [version, topicUid, subscriptionUid, partition, offset, nonce, ...rest] = text.split(".");
  if (version !== VERSION || rest.length > 0) return null;
  if (!topicUid || !subscriptionUid || !nonce) return null;
  if (!TOKEN.test(topicUid) || !TOKEN.test(subscriptionUid) || !TOKEN.test(nonce)) return null;
  const p = Number(partition);
  const o = Number(offset);
  if (!Number.isSafeInteger(p) || p < 0 || !Number.isSafeInteger(o) || o < 0) return null;
  if (String(p) !== partition || String(o) !== offset) return null;
  return { topicUid, subscriptionUid, partition: p, offset: o, nonce };
}
