-- Offline purses loaded into wallets (the wallets table itself is core, 001). next_counter of the wallet
-- only grows: tokens under a purse use counters above its base, and a purse of N minor units can sign at
-- most N payments, so it reserves counter_base+1 … counter_end (= base + N) and the next purse's base is
-- counter_end: counters never repeat across a wallet's purses.
CREATE TABLE wallet_purses (
  tenant_id          opg_id NOT NULL,
  id                 opg_id NOT NULL,
  wallet_id          opg_id NOT NULL,
  amount             bigint NOT NULL CHECK (amount > 0),
  per_payment_limit  bigint NOT NULL CHECK (per_payment_limit > 0 AND per_payment_limit <= amount),
  currency           opg_currency NOT NULL,
  counter_base       bigint NOT NULL CHECK (counter_base >= 0),
  counter_end        bigint NOT NULL CHECK (counter_end > counter_base),
  issuer_key_id      text NOT NULL,
  certificate        bytea NOT NULL,
  issued_at          timestamptz NOT NULL,
  expires_at         timestamptz NOT NULL CHECK (expires_at > issued_at),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id)
);
CREATE INDEX wallet_purses_wallet ON wallet_purses (tenant_id, wallet_id, issued_at);
