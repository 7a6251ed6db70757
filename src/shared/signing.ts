// HMAC-SHA256, with keys cached per isolate: importing a key costs more than a signature.
import { IsolateMemo } from "./isolate-memo";

const keys = new IsolateMemo<string, Promise<CryptoKey>>(64);

/** An HMAC-SHA256 key made from the UTF-8 bytes of `secret`. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  return keys.getOrMake(secret, () =>
    crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]),
  );
}

/** HMAC-SHA256 of `message` (text as its UTF-8 bytes): 32 bytes. */
export async function hmacSign(secret: string, message: string | Uint8Array): Promise<ArrayBuffer> {
  return crypto.subtle.sign("HMAC", await hmacKey(secret), bytesOf(message));
}

/** Whether `mac` is the HMAC-SHA256 of `message`; constant time (WebCrypto verify). */
export async function hmacVerify(secret: string, message: string | Uint8Array, mac: Uint8Array): Promise<boolean> {
  return crypto.subtle.verify("HMAC", await hmacKey(secret), mac, bytesOf(message));
}

function bytesOf(message: string | Uint8Array): Uint8Array {
  return typeof message === "string" ? new TextEncoder().encode(message) : message;
}
