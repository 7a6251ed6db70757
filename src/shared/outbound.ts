import { fromHex, hex } from "./encoding";
import { hmacSign, hmacVerify } from "./signing";

// Requests Weir itself sends (transaction check-backs): where they may go, and how they are
// signed. docs/security.md describes both for operators and for the receivers.

export type Destination = { ok: true; url: URL } | { ok: false; reason: string };

/** IPv4 ranges no outbound call may reach: [first address, prefix length]. Loopback is separate. */
const BLOCKED_V4: readonly [string, number][] = [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // carrier-grade NAT
  ["169.254.0.0", 16], // link-local, cloud metadata services
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.88.99.0", 24], // 6to4 relay anycast
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];
const LOOPBACK_V4: [string, number] = ["127.0.0.0", 8];

const LOCAL_NAME_SUFFIXES = [".localhost", ".local", ".internal", ".home.arpa", ".localdomain"];

/**
 * Whether an outbound call may go to `target`: an absolute https URL (http only to loopback,
 * and loopback only when `allowLoopback`, for local development), without credentials, whose
 * host is a public DNS name or a public IP address. Refused: private, loopback, link-local,
 * multicast, reserved and documentation ranges of IPv4 and IPv6 (also inside IPv4-mapped,
 * NAT64 and 6to4 IPv6 addresses), `localhost` and other local names, and single-label names.
 * DNS answers are not checked here (a Worker cannot resolve names); see docs/security.md.
 */
export function checkDestination(target: string, options: { allowLoopback: boolean }): Destination {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { ok: false, reason: "not an absolute URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, reason: "only https URLs are allowed" };
  if (url.username || url.password) return { ok: false, reason: "the URL must not carry credentials" };
  const kind = hostKind(url.hostname);
  if (kind === "blocked") return { ok: false, reason: `${url.hostname} is a private, local or reserved address` };
  if (kind === "loopback") {
    return options.allowLoopback ? { ok: true, url } : { ok: false, reason: `${url.hostname} is a loopback address` };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "only https URLs are allowed" };
  return { ok: true, url };
}

type HostKind = "public" | "loopback" | "blocked";

function hostKind(hostname: string): HostKind {
  const host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = parseIPv6(host.slice(1, -1));
    return groups ? ipv6Kind(groups) : "blocked";
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) return ipv4Kind(v4);
  if (host === "localhost" || LOCAL_NAME_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return host === "localhost" || host.endsWith(".localhost") ? "loopback" : "blocked";
  }
  // A name without a dot is resolved through search domains: inside some network.
  if (!host.includes(".")) return "blocked";
  return "public";
}

function ipv4Kind(address: number): HostKind {
  if (inRange(address, LOOPBACK_V4)) return "loopback";
  return BLOCKED_V4.some((range) => inRange(address, range)) ? "blocked" : "public";
}

function inRange(address: number, [first, prefix]: readonly [string, number]): boolean {
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((address & mask) >>> 0) === ((parseIPv4(first)! & mask) >>> 0);
}

/** The address of a dotted-quad IPv4 text (what the URL parser makes of every IPv4 form). */
function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** The eight 16-bit groups of an IPv6 text, or null. */
function parseIPv6(text: string): number[] | null {
  let body = text;
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(":");
  const v4 = parseIPv4(body.slice(lastColon + 1));
  if (v4 !== null) {
    tail = [v4 >>> 16, v4 & 0xffff];
    body = body.slice(0, lastColon + 1) + "0:0";
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 2 && missing < 1) || (halves.length === 1 && missing !== 0)) return null;
  const groups = [...head, ...new Array<number>(Math.max(0, missing)).fill(0), ...rest];
  if (groups.some(Number.isNaN)) return null;
  if (tail.length > 0) groups.splice(6, 2, ...tail);
  return groups;
}

function ipv6Kind(g: number[]): HostKind {
  const v4At = (i: number) => ((g[i]! << 16) >>> 0) + g[i + 1]!;
  const zeros = (n: number, from = 0) => g.slice(from, from + n).every((x) => x === 0);
  if (zeros(8)) return "blocked"; // ::
  if (zeros(7) && g[7] === 1) return "loopback"; // ::1
  if (zeros(5) && g[5] === 0xffff) return ipv4Kind(v4At(6)); // ::ffff:a.b.c.d, IPv4-mapped
  if (zeros(6)) return "blocked"; // ::a.b.c.d, deprecated IPv4-compatible
  if (g[0] === 0x64 && g[1] === 0xff9b) return zeros(4, 2) ? ipv4Kind(v4At(6)) : "blocked"; // NAT64
  if (g[0] === 0x2002) return ipv4Kind(v4At(1)); // 6to4
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return "blocked"; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return "blocked"; // fe80::/10 link-local
  if ((first & 0xffc0) === 0xfec0) return "blocked"; // fec0::/10 site-local
  if ((first & 0xff00) === 0xff00) return "blocked"; // multicast
  if (first === 0x2001 && (g[1] === 0x0db8 || g[1] === 0)) return "blocked"; // documentation, Teredo
  if (first === 0x0100 && zeros(3, 1)) return "blocked"; // 100::/64, discard
  return "public";
}

// --- signing ---

/** How far a receiver should let the signature's time be from its own clock, in seconds. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * The one header that signs `body`, sent at `timestampSeconds` (Unix seconds):
 * `Weir-Signature: t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 */
export async function signatureHeader(secret: string, body: string, timestampSeconds: number): Promise<Record<string, string>> {
  const mac = await hmacSign(secret, `${timestampSeconds}.${body}`);
  return { "weir-signature": `t=${timestampSeconds},v1=${hex(mac)}` };
}

/**
 * What a receiver does, in TypeScript: true when the `Weir-Signature` header value signs
 * `body` and its time `t` is within SIGNATURE_TOLERANCE_SECONDS of `nowSeconds`. The header's
 * parts may come in any order; any `v1` part that matches is enough (room for a key rotation).
 */
export async function verifySignature(secret: string, body: string, header: string, nowSeconds: number): Promise<boolean> {
  let timestamp: string | null = null;
  const macs: Uint8Array[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (eq < 0) continue;
    if (name === "t") timestamp = value;
    else if (name === "v1") {
      const mac = fromHex(value);
      if (mac && mac.byteLength === 32) macs.push(mac);
    }
  }
  if (timestamp === null || !/^[0-9]{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return false;
  for (const mac of macs) if (await hmacVerify(secret, `${timestamp}.${body}`, mac)) return true;
  return false;
}

export class OutboundRefused extends Error {
  override readonly name = "OutboundRefused";
}

/** What outbound calls need from the Worker's environment. */
export interface OutboundEnv {
  OUTBOUND_SIGNING_SECRET?: string;
  OUTBOUND_ALLOW_LOOPBACK?: string;
}

const OUTBOUND_TIMEOUT_MS = 10_000;

/**
 * POSTs the JSON text `body` to `target`, signed, if checkDestination allows it. Redirects are
 * never followed (one could lead to a private address): a 3xx comes back as it is, and a
 * caller treats it as no answer. The call gives up after 10 s. Throws
 * OutboundRefused for a refused destination or a missing OUTBOUND_SIGNING_SECRET.
 */
export async function signedPost(env: OutboundEnv, target: string, body: string): Promise<Response> {
  const secret = env.OUTBOUND_SIGNING_SECRET;
  if (!secret) throw new OutboundRefused("OUTBOUND_SIGNING_SECRET is not set");
  const destination = checkDestination(target, { allowLoopback: env.OUTBOUND_ALLOW_LOOPBACK === "true" });
  if (!destination.ok) throw new OutboundRefused(destination.reason);
  const headers = await signatureHeader(secret, body, Math.floor(Date.now() / 1000));
  return fetch(destination.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(OUTBOUND_TIMEOUT_MS),
  });
}
