-- Key ids carry a MAC (src/catalog/key-ids.ts), so that a token with an id the server did not
-- mint is refused without a catalog read. Keys minted before have id_mac = 0 and are still
-- looked up; server_secrets holds the deployment's random MAC secret, made on first use.
ALTER TABLE api_keys ADD COLUMN id_mac INTEGER NOT NULL DEFAULT 0;
CREATE TABLE server_secrets (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
