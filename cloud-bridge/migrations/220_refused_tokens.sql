-- Every token the bridge refuses, for any reason, from a box batch or a wallet log upload: kept with its reason
-- and raw bytes for the operator (GET /v1/refused-tokens), counted in the fleet view, and — when a merchant holds
-- a receipt for a validly signed token refused by reconciliation (double spend, broken chain, beyond the purse) —
-- paid by the escrow rule at purse release (escrow, then the wallet's balance, then an `unfunded` loss).
CREATE TABLE IF NOT EXISTS refused_tokens (
  id                bigserial PRIMARY KEY,
  tenant_id         text NOT NULL,
  -- Identity: hex SHA-256 of the signed body for a validly signed token (a re-signed or mauled copy is the same
  -- token), of the raw bytes otherwise.
  token_id          text NOT NULL,
  tx_id             text,
  wallet_id         text,
  merchant_id       text,
  device_id         text,
  purse_id          text,
  counter           bigint,
  amount            bigint,
  currency          text,
  reason            text NOT NULL,
  source            text NOT NULL CHECK (source IN ('box', 'wallet_log')),
  -- The box (device id) or wallet (wallet id) that delivered it.
  received_from     text NOT NULL,
  -- Wallet signature and certificate verified: the wallet did sign it.
  valid             boolean NOT NULL,
  -- The token it conflicts with (tx id and token id), when refused as proof of a double spend.
  proof_of          text,
  proof_of_token_id text,
  token             bytea NOT NULL,
  received_at       timestamptz NOT NULL,
  -- none: nothing is owed for it; awaiting_box: payable once a box delivers it (a merchant holds a receipt);
  -- pending: owed, paid at purse release; paid / unfunded: settled (unfunded > 0 is the operator's loss).
  settle_state      text NOT NULL DEFAULT 'none'
                      CHECK (settle_state IN ('none', 'awaiting_box', 'pending', 'paid', 'unfunded')),
  paid_escrow       bigint NOT NULL DEFAULT 0,
  paid_wallet       bigint NOT NULL DEFAULT 0,
  unfunded          bigint NOT NULL DEFAULT 0,
  settled_at        timestamptz,
  UNIQUE (tenant_id, token_id)
);
CREATE INDEX IF NOT EXISTS refused_tokens_listing ON refused_tokens (tenant_id, received_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS refused_tokens_owed ON refused_tokens (tenant_id, purse_id) WHERE settle_state = 'pending';

-- Tokens refused at ingest before this table existed.
INSERT INTO refused_tokens (tenant_id, token_id, tx_id, reason, source, received_from, valid, token, received_at)
SELECT tenant_id, token_hash, tx_id, code, 'box', device_id, false, token, received_at FROM rejected_tokens
ON CONFLICT (tenant_id, token_id) DO NOTHING;

-- A payment is identified by its signed body, not its raw bytes (protocol SPEC §4): the 64-byte signature is
-- the token's tail.
UPDATE offline_payments SET token_hash = encode(sha256(substring(token FROM 1 FOR length(token) - 64)), 'hex');

-- Proofs of every kind, one per refused token.
ALTER TABLE double_spend_proofs DROP CONSTRAINT IF EXISTS double_spend_proofs_kind_check;
ALTER TABLE double_spend_proofs ADD CONSTRAINT double_spend_proofs_kind_check
  CHECK (kind IN ('same_counter', 'over_purse', 'same_tx_id', 'tx_id_taken', 'broken_chain', 'counter_range'));
ALTER TABLE double_spend_proofs DROP CONSTRAINT IF EXISTS double_spend_proofs_refused_tx_id_key;
ALTER TABLE double_spend_proofs ADD COLUMN IF NOT EXISTS refused_token_id text;
CREATE UNIQUE INDEX IF NOT EXISTS double_spend_proofs_refused_token ON double_spend_proofs (tenant_id, refused_token_id);
