-- Offline payments and their reconciliation state (owned by src/reconcile and src/ingest).
-- Times are timestamptz on the bridge clock: device and wallet clocks are never trusted for deadlines.

-- One row per wallet that ever paid offline: the lock that serialises every decision about that wallet's
-- purse and counters, and the freeze flag set on proven double spending.
CREATE TABLE IF NOT EXISTS offline_wallets (
  tenant_id     text NOT NULL,
  wallet_id     text NOT NULL,
  frozen_at     timestamptz,
  frozen_reason text,
  PRIMARY KEY (tenant_id, wallet_id)
);

-- One row per offline purse (one wallet certificate): the escrowed amount, what has been honoured from it,
-- and when its leftover went back to the wallet.
CREATE TABLE IF NOT EXISTS offline_purses (
  tenant_id       text NOT NULL,
  purse_id        text NOT NULL, -- '{walletId}:{counterBase}': one wallet certificate
  wallet_id       text NOT NULL,
  currency        text NOT NULL,
  purse_amount    bigint NOT NULL CHECK (purse_amount >= 0),
  spent           bigint NOT NULL DEFAULT 0 CHECK (spent >= 0),
  expires_at      timestamptz NOT NULL,
  released_at     timestamptz,
  released_amount bigint,
  PRIMARY KEY (tenant_id, purse_id)
);
CREATE INDEX IF NOT EXISTS offline_purses_unreleased ON offline_purses (expires_at) WHERE released_at IS NULL;

-- One row per signed payment token, whichever side (merchant box or payer wallet) delivered it first.
CREATE TABLE IF NOT EXISTS offline_payments (
  tx_id             text PRIMARY KEY,
  tenant_id         text NOT NULL,
  wallet_id         text NOT NULL,
  merchant_id       text NOT NULL,
  device_id         text NOT NULL,
  purse_id          text NOT NULL,
  amount            bigint NOT NULL CHECK (amount > 0),
  currency          text NOT NULL,
  counter           bigint NOT NULL,
  token             bytea NOT NULL,
  token_hash        text NOT NULL,
  state             text NOT NULL CHECK (state IN
                      ('held', 'confirmed', 'approved', 'disputed', 'reversed', 'upheld', 'double_spend', 'unfunded')),
  funded_from       text NOT NULL CHECK (funded_from IN ('escrow', 'wallet', 'none')),
  first_received_at timestamptz NOT NULL,
  merchant_seen_at  timestamptz,
  payer_seen_at     timestamptz,
  hold_until        timestamptz,
  settled_at        timestamptz,
  claim_until       timestamptz,
  claimed_at        timestamptz,
  claim_reason      text,
  resolved_at       timestamptz,
  resolved_by       text,
  updated_at        timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS offline_payments_due ON offline_payments (hold_until) WHERE state = 'held';
CREATE INDEX IF NOT EXISTS offline_payments_wallet_counter ON offline_payments (tenant_id, wallet_id, counter);
CREATE INDEX IF NOT EXISTS offline_payments_purse ON offline_payments (tenant_id, purse_id);
CREATE INDEX IF NOT EXISTS offline_payments_merchant ON offline_payments (tenant_id, merchant_id, first_received_at);

-- Cryptographic proof of double spending: the honoured token and the one refused, both kept verbatim.
CREATE TABLE IF NOT EXISTS double_spend_proofs (
  id              bigserial PRIMARY KEY,
  tenant_id       text NOT NULL,
  wallet_id       text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('same_counter', 'over_purse')),
  honoured_tx_id  text,
  refused_tx_id   text NOT NULL UNIQUE,
  honoured_token  bytea,
  refused_token   bytea NOT NULL,
  detected_at     timestamptz NOT NULL
);

-- What the operator must look at: double spends, invalid tokens from boxes, disputes.
CREATE TABLE IF NOT EXISTS operator_alerts (
  id              bigserial PRIMARY KEY,
  kind            text NOT NULL,
  tenant_id       text,
  wallet_id       text,
  device_id       text,
  tx_id           text,
  detail          jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL,
  acknowledged_at timestamptz
);
CREATE INDEX IF NOT EXISTS operator_alerts_open ON operator_alerts (created_at) WHERE acknowledged_at IS NULL;
