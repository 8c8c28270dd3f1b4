-- Online payments (merchant and customer both online): invoices paid by card, debit card or wallet balance,
-- wallet top-ups by card, wallet -> merchant QR transfers, payout batches to merchants' banks, and the
-- confirmations sent to a merchant box (MQTT when connected, authenticated SMS when not).

CREATE TABLE invoices (
  tenant_id opg_id NOT NULL,
  id opg_id NOT NULL,
  merchant_id opg_id NOT NULL,
  -- the box that issued it (its confirmation goes there); null for API-created invoices
  device_id opg_id,
  reference text NOT NULL CHECK (reference ~ '^[A-Za-z0-9-]{1,32}$'),
  amount bigint NOT NULL CHECK (amount > 0),
  currency opg_currency NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid')),
  expires_at timestamptz NOT NULL,
  paid_at timestamptz,
  payment_id opg_id,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, merchant_id, reference),
  FOREIGN KEY (tenant_id, merchant_id) REFERENCES merchants (tenant_id, id),
  FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);

CREATE TABLE online_payments (
  tenant_id opg_id NOT NULL,
  id opg_id NOT NULL,
  -- client-supplied: a repeated request with the same key returns the first payment and charges nothing
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 8 AND 128),
  request_hash text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('invoice', 'topup', 'transfer')),
  method text NOT NULL CHECK (method IN ('card', 'debit', 'wallet')),
  amount bigint NOT NULL CHECK (amount > 0),
  currency opg_currency NOT NULL,
  invoice_id opg_id,
  wallet_id opg_id,
  merchant_id opg_id,
  device_id opg_id,
  provider_ref text UNIQUE,
  status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  failure_code text,
  payout_id opg_id,
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX online_payments_payout ON online_payments (tenant_id, merchant_id, currency)
  WHERE kind = 'invoice' AND status = 'succeeded' AND payout_id IS NULL;
-- one successful payment per invoice, whatever the method
CREATE UNIQUE INDEX online_payments_invoice_once ON online_payments (tenant_id, invoice_id)
  WHERE invoice_id IS NOT NULL AND status <> 'failed';

CREATE TABLE payouts (
  tenant_id opg_id NOT NULL,
  id opg_id NOT NULL,
  currency opg_currency NOT NULL,
  status text NOT NULL DEFAULT 'built' CHECK (status IN ('built', 'paid')),
  created_at timestamptz NOT NULL DEFAULT now(),
  paid_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE payout_lines (
  tenant_id opg_id NOT NULL,
  payout_id opg_id NOT NULL,
  merchant_id opg_id NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  bank_account_ref text,
  payment_ids text[] NOT NULL,
  PRIMARY KEY (tenant_id, payout_id, merchant_id),
  FOREIGN KEY (tenant_id, payout_id) REFERENCES payouts (tenant_id, id)
);

-- Confirmations to boxes. The counter increases per device; the box refuses a counter it has seen.
CREATE TABLE box_notices (
  tenant_id opg_id NOT NULL,
  device_id opg_id NOT NULL,
  counter bigint NOT NULL CHECK (counter > 0),
  payment_id opg_id NOT NULL,
  channel text NOT NULL CHECK (channel IN ('mqtt', 'sms')),
  reference text NOT NULL,
  amount bigint NOT NULL,
  currency opg_currency NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, device_id, counter),
  UNIQUE (tenant_id, payment_id)
);
