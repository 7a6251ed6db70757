import { base64url, fromBase64url } from "./encoding";
import { hmacSign, hmacVerify } from "./signing";

/**
 * A receipt names one delivery of one message to one subscription: the topic and subscription
 * incarnations (so a receipt outlives neither), the partition, the offset and the lease nonce
 * that the partition drew for this delivery. It is opaque to clients:
 * `base64url(r2.<topic uid>.<subscription uid>.<partition>.<offset>.<nonce>) "." base64url(mac)`,
 * where mac is HMAC-SHA256 over that text with the receipt secret. A receipt that was altered
 * or made up fails the mac; one of another subscription passes it but names another uid.
 */
export interface Receipt {
  topicUid: string;
  subscriptionUid: string;
  partition: number;
  offset: number;
  nonce: string;
}

/** Where the receipt secret comes from: RECEIPT_SECRET, or else one derived from ADMIN_TOKEN. */
export interface ReceiptSecrets {
  RECEIPT_SECRET?: string;
  ADMIN_TOKEN?: string;
}

const VERSION = "r2";
const TOKEN = /^[0-9A-Z]{1,64}$/;
const MAX_RECEIPT_LENGTH = 512;

const derived = new Map<string, Promise<string>>();

/**
 * The secret receipts are signed with. Without RECEIPT_SECRET it is HMAC-SHA256(ADMIN_TOKEN,
 * "weir/receipt-secret/v1"), so that a deployment with only ADMIN_TOKEN still signs receipts;
 * changing either secret makes outstanding receipts invalid (their messages come back when the
 * lease ends). Throws when neither is set: the auth middleware refuses every call before that.
 */
export async function receiptSecret(env: ReceiptSecrets): Promise<string> {
  if (env.RECEIPT_SECRET) return env.RECEIPT_SECRET;
  const admin = env.ADMIN_TOKEN;
  if (!admin) throw new Error("neither RECEIPT_SECRET nor ADMIN_TOKEN is set");
  let secret = derived.get(admin);
  if (!secret) {
    secret = hmacSign(admin, "weir/receipt-secret/v1").then(base64url);
    derived.clear();
    derived.set(admin, secret);
  }
  return secret;
}

export async function encodeReceipt(env: ReceiptSecrets, r: Receipt): Promise<string> {
  const text = [VERSION, r.topicUid, r.subscriptionUid, r.partition, r.offset, r.nonce].join(".");
  const mac = await hmacSign(await receiptSecret(env), text);
  return `${base64url(new TextEncoder().encode(text))}.${base64url(mac)}`;
}

/** The receipt inside `token`, or null when this service did not make it (or it was altered). */
export async function decodeReceipt(env: ReceiptSecrets, token: string): Promise<Receipt | null> {
  if (token.length > MAX_RECEIPT_LENGTH) return null;
  const [payload, macText, ...extra] = token.split(".");
  if (payload === undefined || macText === undefined || extra.length > 0) return null;
  const bytes = fromBase64url(payload);
  const mac = fromBase64url(macText);
  if (!bytes || !mac || mac.byteLength !== 32) return null;
  if (!(await hmacVerify(await receiptSecret(env), bytes, mac))) return null;
  const text = new TextDecoder().decode(bytes);
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
