import { call } from "../helpers";

export interface CreatedKey {
  id: string;
  name: string;
  scopes: string[];
  rate_limit: { produce_per_second: number | null; receive_per_second: number | null };
  created_at: string;
  secret: string;
}

/** Makes an API key through the API, with the admin token. */
export async function createKey(
  scopes: string[],
  options: { name?: string; rate_limit?: Record<string, number | null> } = {},
): Promise<CreatedKey> {
  const r = await call("POST", "/v1/keys", { name: options.name ?? "test key", scopes, ...(options.rate_limit ? { rate_limit: options.rate_limit } : {}) });
  if (r.status !== 201) throw new Error(`create key: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as CreatedKey;
}
