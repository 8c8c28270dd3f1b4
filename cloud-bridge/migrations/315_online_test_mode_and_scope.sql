-- Test-mode money and caller-scoped idempotency.
-- Every online payment and payout batch says whether it moved test money (a sandbox provider in a bridge
-- running with mode: test). Rows made before this migration all came from the sandbox, the only provider
-- then, so they are test; new rows must state it (no default), and a payout batch only ever selects payments
-- of its own mode (src/online/payouts.ts).
ALTER TABLE online_payments ADD COLUMN test_mode boolean NOT NULL DEFAULT true;
ALTER TABLE online_payments ALTER COLUMN test_mode DROP DEFAULT;
ALTER TABLE payouts ADD COLUMN test_mode boolean NOT NULL DEFAULT true;
ALTER TABLE payouts ALTER COLUMN test_mode DROP DEFAULT;

-- An idempotency key belongs to the API key that sent it: another caller's key is never a conflict and never
-- replays someone else's payment. '' is the scope of calls made inside the bridge (no API key).
ALTER TABLE online_payments ADD COLUMN idempotency_scope text NOT NULL DEFAULT '';
ALTER TABLE online_payments DROP CONSTRAINT online_payments_tenant_id_idempotency_key_key;
ALTER TABLE online_payments ADD CONSTRAINT online_payments_idempotency_once
  UNIQUE (tenant_id, idempotency_scope, idempotency_key);

-- Daily top-up windows read recent top-ups of a wallet and of a tenant.
CREATE INDEX online_payments_topups ON online_payments (tenant_id, wallet_id, created_at)
  WHERE kind = 'topup' AND status <> 'failed';

-- Per-tenant daily top-up limits (minor units of the tenant currency, rolling 24 hours by the database clock).
-- A null column, or no row, means the bridge's configured default (payments.topupLimits).
CREATE TABLE topup_limits (
  tenant_id opg_id PRIMARY KEY REFERENCES tenants (id),
  per_wallet_daily bigint CHECK (per_wallet_daily >= 0),
  per_tenant_daily bigint CHECK (per_tenant_daily >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
