import { base64url, fromBase64url } from "./encoding";
import { IsolateMemo } from "./isolate-memo";
import { hmacSign, hmacVerify } from "./signing";
import { MAX_RECEIPT_LENGTH } from "./limits";

/**
 * A lease is one lease call of one partition for one subscription: the topic and subscription
 * incarnations (so a receipt outlives neither), the partition, and the nonce the partition drew
 * for that call and stored on every delivery it leased.
 *
 * A receipt is a lease plus the offset of one of its messages, opaque to clients:
 * `base64url(r3.<topic uid>.<subscription uid>.<partition>.<nonce>) "." base64url(mac) "." <offset>`,
 * where mac is HMAC-SHA256 over the lease text with the receipt secret. The offset sits outside
 * the mac so that a receive signs once per lease, not once per message, and an ack verifies once
 * per lease: a receipt whose offset was changed names a message whose stored nonce is not this
 * lease's (`receipt_stale`), or one of the same lease, which its holder already has a receipt for.
 * A lease that was altered or made up fails the mac; one of another subscription passes it but
 * names another uid.
 */
export interface Lease {
  topicUid: string;
  subscriptionUid: string;
  partition: number;
  nonce: string;
}

export interface Receipt extends Lease {
  offset: number;
}

/** Where the receipt secret comes from: RECEIPT_SECRET, or else one derived from ADMIN_TOKEN. */
export interface ReceiptSecrets {
  RECEIPT_SECRET?: string;
  ADMIN_TOKEN?: string;
}

const VERSION = "r3";
const TOKEN = /^[0-9A-Z]{1,64}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;
const PARTITION = /^(0|[1-9][0-9]{0,8})$/;

// The secret derived from the one ADMIN_TOKEN an isolate has (a new token replaces it).
const derived = new IsolateMemo<string, Promise<string>>(1);

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
  return derived.getOrMake(admin, () => hmacSign(admin, "weir/receipt-secret/v1").then(base64url));
}

/** Signs `lease` once; the returned function makes the receipt of each offset leased under it. */
export async function leaseReceipts(env: ReceiptSecrets, lease: Lease): Promise<(offset: number) => string> {
  const text = [VERSION, lease.topicUid, lease.subscriptionUid, lease.partition, lease.nonce].join(".");
  const mac = await hmacSign(await receiptSecret(env), text);
  const signed = `${base64url(new TextEncoder().encode(text))}.${base64url(mac)}`;
  return (offset) => `${signed}.${offset}`;
}

/**
 * The receipts inside `tokens`, in order, with null for each that this service did not make
 * (or that was altered). Each distinct lease among them is verified once.
 */
export async function decodeReceipts(env: ReceiptSecrets, tokens: readonly string[]): Promise<(Receipt | null)[]> {
  const parsed = tokens.map(parseReceipt);
  const leases = new Map<string, Promise<Lease | null>>();
  for (const p of parsed) if (p && !leases.has(p.signed)) leases.set(p.signed, verifyLease(env, p.payload, p.macText));
  const verified = new Map<string, Lease | null>();
  for (const [signed, lease] of leases) verified.set(signed, await lease);
  return parsed.map((p) => {
    const lease = p && verified.get(p.signed);
    return lease ? { ...lease, offset: p.offset } : null;
  });
}

/** A receipt's parts, unverified; null if it is not shaped like one. */
function parseReceipt(token: string): { signed: string; payload: string; macText: string; offset: number } | null {
  if (token.length > MAX_RECEIPT_LENGTH) return null;
  const [payload, macText, offsetText, ...extra] = token.split(".");
  if (payload === undefined || macText === undefined || offsetText === undefined || extra.length > 0) return null;
  if (!DECIMAL.test(offsetText)) return null;
  const offset = Number(offsetText);
  if (!Number.isSafeInteger(offset)) return null;
  return { signed: `${payload}.${macText}`, payload, macText, offset };
}

async function verifyLease(env: ReceiptSecrets, payload: string, macText: string): Promise<Lease | null> {
  const bytes = fromBase64url(payload);
  const mac = fromBase64url(macText);
  if (!bytes || !mac || mac.byteLength !== 32) return null;
  if (!(await hmacVerify(await receiptSecret(env), bytes, mac))) return null;
  const text = new TextDecoder().decode(bytes);
  const [version, topicUid, subscriptionUid, partition, nonce, ...rest] = text.split(".");
  if (version !== VERSION || rest.length > 0) return null;
  if (!topicUid || !subscriptionUid || !nonce || partition === undefined) return null;
  if (!TOKEN.test(topicUid) || !TOKEN.test(subscriptionUid) || !TOKEN.test(nonce) || !PARTITION.test(partition)) return null;
  return { topicUid, subscriptionUid, partition: Number(partition), nonce };
}
