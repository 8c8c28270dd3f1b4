-- Settlement of the merchant wallet: payout batches carry released offline and QR money (merchant_wallet)
-- beside invoice money (merchant_bank_payable), per merchant and currency, on the tenant's schedule and on
-- demand; and the time zone payer messages are written in.

-- The tenant's payout schedule: 'daily' (default) or 'weekly' batches built by the scheduler after
-- run_hour in the tenant's time zone, or 'manual' (only on demand through the API).
CREATE TABLE payout_schedules (
  tenant_id opg_id PRIMARY KEY REFERENCES tenants (id),
  frequency text NOT NULL DEFAULT 'daily' CHECK (frequency IN ('daily', 'weekly', 'manual')),
  run_hour integer NOT NULL DEFAULT 0 CHECK (run_hour BETWEEN 0 AND 23),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- IANA time zone of the tenant (e.g. 'Europe/Berlin'): payout periods and the dates payers read. Null: the
-- payer's phone number decides, else UTC.
ALTER TABLE tenants ADD COLUMN time_zone text;

-- A batch's key makes building it idempotent: 'daily:2026-12-04' for a scheduled period (however many
-- replicas run the scheduler), 'manual:<client key>' for one asked for through the API.
ALTER TABLE payouts ADD COLUMN batch_key text;
CREATE UNIQUE INDEX payouts_batch_key ON payouts (tenant_id, currency, batch_key) WHERE batch_key IS NOT NULL;

-- What each line pays, and a snapshot of what the merchant still had held and reserved when it was built.
ALTER TABLE payout_lines ADD COLUMN invoice_amount bigint NOT NULL DEFAULT 0 CHECK (invoice_amount >= 0);
ALTER TABLE payout_lines ADD COLUMN wallet_amount bigint NOT NULL DEFAULT 0 CHECK (wallet_amount >= 0);
ALTER TABLE payout_lines ADD COLUMN held_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE payout_lines ADD COLUMN reserved_amount bigint NOT NULL DEFAULT 0;
UPDATE payout_lines SET invoice_amount = amount;
ALTER TABLE payout_lines ADD CONSTRAINT payout_lines_parts CHECK (amount = invoice_amount + wallet_amount);
CREATE INDEX payout_lines_merchant ON payout_lines (tenant_id, merchant_id);

-- The reserve: settled offline payments of a merchant still inside their claim window.
CREATE INDEX offline_payments_claimable ON offline_payments (tenant_id, merchant_id, currency, claim_until)
  WHERE state IN ('confirmed', 'approved');
