-- API key lifecycle and the operator's audit log.
-- A key may expire (checked with the database clock). Rotation keeps the key id and gives it a new secret;
-- the previous secret stays valid until previous_expires_at, so clients switch without downtime.
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN previous_key_hash bytea UNIQUE;
ALTER TABLE api_keys ADD COLUMN previous_expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN rotated_at timestamptz;

-- Who changed what that matters for money or access: payout bank accounts, keys, limits. Append-only.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  at timestamptz NOT NULL DEFAULT now(),
  actor_key_id opg_id,
  actor_role text NOT NULL,
  action text NOT NULL,
  subject_id text,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
