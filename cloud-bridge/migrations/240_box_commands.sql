-- 240 box commands and operator actions: the per-device command sequence (protocol SPEC.md §8.1), the
-- versions of each tenant's revocation list, why a box was revoked and when a tenant was suspended, and the
-- audit trail of those operator actions.

-- Last `seq` given to a command for this box; only grows (see fleet/box-commands.ts nextCommandSeq).
ALTER TABLE devices ADD COLUMN IF NOT EXISTS cmd_seq bigint NOT NULL DEFAULT 0 CHECK (cmd_seq >= 0);
ALTER TABLE devices ADD COLUMN IF NOT EXISTS revoked_reason text;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS suspended_at timestamptz;
ALTER TABLE tenants ADD COLUMN IF NOT EXISTS suspended_reason text;

-- One row per distinct revocation list a tenant has had: the version boxes compare is `version`, and
-- `digest` (SHA-256 of the sorted wallet ids) tells whether the current list is new.
CREATE TABLE IF NOT EXISTS revocation_lists (
  tenant_id  opg_id NOT NULL REFERENCES tenants (id),
  version    bigint NOT NULL CHECK (version >= 1),
  digest     bytea NOT NULL CHECK (octet_length(digest) = 32),
  wallets    integer NOT NULL CHECK (wallets >= 0),
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, version)
);

-- Revocations and suspensions are audited in audit_log (migration 145), with the acting key or, from the
-- command line, actor role 'platform'.
