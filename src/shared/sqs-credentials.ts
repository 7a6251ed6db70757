import { base64url } from "./encoding";
import { hmacSign } from "./signing";

// The SQS credentials of an API key (docs/sqs.md): access key id = the key's id, secret access
// key = base64url(HMAC-SHA256(credential secret, "weir/sqs/v1/<key id>")). The server derives
// the secret when it verifies a signature and stores nothing of it; the key-creation answer
// shows it once. The credential secret is SQS_CREDENTIAL_SECRET, or else
// HMAC-SHA256(ADMIN_TOKEN, "weir/sqs-credential-secret/v1"): changing it changes every key's
// SQS secret.

export interface SqsCredentialSecrets {
  SQS_CREDENTIAL_SECRET?: string;
  ADMIN_TOKEN?: string;
}

const derived = new Map<string, Promise<string>>();

async function credentialSecret(env: SqsCredentialSecrets): Promise<string> {
  if (env.SQS_CREDENTIAL_SECRET) return env.SQS_CREDENTIAL_SECRET;
  const admin = env.ADMIN_TOKEN;
  if (!admin) throw new Error("neither SQS_CREDENTIAL_SECRET nor ADMIN_TOKEN is set");
  let secret = derived.get(admin);
  if (!secret) {
    secret = hmacSign(admin, "weir/sqs-credential-secret/v1").then(base64url);
    derived.clear();
    derived.set(admin, secret);
  }
  return secret;
}

/** The SQS secret access key of the API key `keyId`. */
export async function sqsSecretAccessKey(env: SqsCredentialSecrets, keyId: string): Promise<string> {
  return base64url(await hmacSign(await credentialSecret(env), `weir/sqs/v1/${keyId}`));
}
