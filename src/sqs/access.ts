// Who sent an SQS request, and what they may do: SigV4 with the admin credentials or an API
// key's derived ones (src/shared/sqs-credentials.ts), then the key's scopes per queue and its
// rate limit, as the REST API applies them (src/http/auth.ts).

import type { Env } from "../env";
import { KeyStore, type KeyRecord } from "../catalog/keys";
import type { RateAction } from "../rate-limiter/rate-limiter";
import { allows, formatScope, type Scope, type TopicAction } from "../shared/scopes";
import { sqsSecretAccessKey } from "../shared/sqs-credentials";
import { SqsError } from "./errors";
import { readClaims, verifySignature, type RequestToSign, type SignedRequestClaims } from "./sigv4";

/** The access key id of the admin credentials; its secret access key is ADMIN_TOKEN. */
export const ADMIN_ACCESS_KEY_ID = "admin";

export interface SqsPrincipal {
  accessKeyId: string;
  /** The region the request was signed for: it names the region in ARNs. */
  region: string;
  scopes: readonly Scope[];
  /** The API key, or null for the admin credentials. */
  key: KeyRecord | null;
}

const ADMIN_SCOPES: readonly Scope[] = [{ kind: "admin" }];

/** Who a request claims to be, before its signature is checked. */
export interface Claimed {
  claims: SignedRequestClaims;
  secret: string;
  key: KeyRecord | null;
}

/**
 * Reads who the request claims to be from its Authorization header: cheap, so that a request
 * of no known access key is refused before its body is read. Throws SqsError:
 * MissingAuthenticationToken, IncompleteSignature, InvalidClientTokenId (no such access key).
 */
export async function identify(env: Env, headers: Headers): Promise<Claimed> {
  const claims = readClaims(headers);
  if (claims.accessKeyId === ADMIN_ACCESS_KEY_ID) return { claims, secret: env.ADMIN_TOKEN ?? "", key: null };
  const key = await new KeyStore(env.CATALOG).byId(claims.accessKeyId);
  if (!key) throw new SqsError("InvalidClientTokenId", "The security token included in the request is invalid.");
  return { claims, secret: await sqsSecretAccessKey(env, key.id), key };
}

/**
 * Verifies the request's SigV4 signature (service `sqs`, any region) against what it claimed,
 * and answers who signed it. Throws SqsError SignatureDoesNotMatch (wrong secret, altered
 * request, clock off by more than 15 minutes) or IncompleteSignature.
 */
export async function authenticate(request: RequestToSign, { claims, secret, key }: Claimed): Promise<SqsPrincipal> {
  await verifySignature(request, claims, secret, "sqs", Date.now());
  return { accessKeyId: claims.accessKeyId, region: claims.region, scopes: key ? key.scopes : ADMIN_SCOPES, key };
}

/** Whether the principal may do `action` on queue `queue` (admin: on everything). */
export function may(principal: SqsPrincipal, action: TopicAction | "admin", queue: string | null): boolean {
  return allows(principal.scopes, action, queue);
}

/** Throws AccessDenied unless the principal may do one of `actions` on `queue`. */
export function requireScope(principal: SqsPrincipal, actions: readonly (TopicAction | "admin")[], queue: string | null): void {
  if (actions.some((action) => may(principal, action, queue))) return;
  const needed = actions.map((a) => (a === "admin" ? "admin" : `${a}:${queue ?? "<queue>"}`)).join(" or ");
  throw new SqsError(
    "AccessDenied",
    `Access to the resource ${queue ?? "(all queues)"} is denied: the key needs the scope ${needed} (it has ${principal.scopes.map(formatScope).join(", ") || "none"}).`,
  );
}

/**
 * Counts the request against the key's rate limit for `action`, as the REST API does; throws
 * RequestThrottled (SDKs retry it) when over. The admin credentials have no limit.
 */
export async function enforceRateLimit(env: Env, principal: SqsPrincipal, action: RateAction): Promise<void> {
  const key = principal.key;
  if (!key) return;
  const perSecond = action === "produce" ? key.rateLimit.producePerSecond : key.rateLimit.receivePerSecond;
  if (perSecond === null) return;
  let outcome;
  try {
    outcome = await env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key.id)).take(action, perSecond);
  } catch (error) {
    // A limiter that cannot be reached does not take the service down with it.
    console.error(JSON.stringify({ event: "rate_limiter_failed", key: key.id, message: String(error) }));
    return;
  }
  if (!outcome.ok) {
    const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
    throw new SqsError("RequestThrottled", `Key ${key.id} is limited to ${perSecond} ${action} requests a second; retry in ${seconds} s.`, seconds);
  }
}
