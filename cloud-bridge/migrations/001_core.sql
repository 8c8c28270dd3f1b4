-- 001 core: the tables every bridge module shares. Owned by the data layer (src/db, src/ledger,
-- src/issuer, src/sms). Ids of tenants, merchants, devices, wallets, API keys: 8 bytes as 16 lowercase hex
-- characters. Every row carries tenant_id, and rows of a tenant refer only to rows of the same tenant
-- (composite foreign keys), so a bug cannot join across tenants. Column names follow what the API modules
-- (src/tenants, src/auth, src/fleet, src/wallets) already use; tables only they use live in 1xx.

CREATE DOMAIN opg_id AS text CHECK (VALUE ~ '^[0-9a-f]{16}$');
CREATE DOMAIN opg_currency AS text CHECK (VALUE ~ '^[A-Z]{3}$');

CREATE TABLE tenants (
  id opg_id PRIMARY KEY,
  name text NOT NULL UNIQUE,
  -- the tenant's home currency (wallets and purses default to it)
  currency opg_currency NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys: only a hash of the key is stored, never the key. `id` is the public part of the key
-- (opg_<id>_<secret>), globally unique so a presented key finds its row, and so its tenant.
CREATE TABLE api_keys (
  id opg_id PRIMARY KEY,
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  role text NOT NULL CHECK (role IN ('operator', 'merchant', 'wallet', 'device')),
  -- the merchant, wallet or device the key acts for; null for operator keys
  subject_id opg_id,
  key_hash bytea NOT NULL UNIQUE,
  label text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  CHECK ((role = 'operator') = (subject_id IS NULL))
);
CREATE INDEX api_keys_subject ON api_keys (tenant_id, role, subject_id);

CREATE TABLE merchants (
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  id opg_id NOT NULL,
  name text NOT NULL,
  phone text,
  -- reference to the payout bank account at the payment provider; account numbers are not stored here
  bank_account_ref text,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- Merchant boxes. The 16-byte device secret is stored sealed with the bridge master key
-- (nonce 12 || AES-GCM ciphertext || tag 16), bound to (tenant, device) as associated data.
CREATE TABLE devices (
  tenant_id opg_id NOT NULL,
  id opg_id NOT NULL,
  merchant_id opg_id NOT NULL,
  label text NOT NULL DEFAULT '',
  sealed_secret bytea NOT NULL CHECK (octet_length(sealed_secret) >= 28),
  -- node public keys and the node certificate the issuer signed over them
  signing_key bytea CHECK (octet_length(signing_key) = 32),
  encryption_key bytea CHECK (octet_length(encryption_key) = 32),
  certificate bytea,
  cert_key_id text,
  cert_expires_at timestamptz,
  -- the box's modem (E.164), for `OPG1 PAID` confirmations when the box is offline
  modem_number text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- a revoked box is refused at the broker and the API
  revoked_at timestamptz,
  -- fleet view, fed by the retained status messages of the box
  last_seen_at timestamptz,
  online boolean NOT NULL DEFAULT false,
  pending_count integer NOT NULL DEFAULT 0,
  status jsonb,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, merchant_id) REFERENCES merchants (tenant_id, id)
);
CREATE INDEX devices_merchant ON devices (tenant_id, merchant_id);

-- Customer wallets. next_counter only grows: each offline purse reserves a range of payment counters.
CREATE TABLE wallets (
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  id opg_id NOT NULL,
  public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
  phone text,
  currency opg_currency NOT NULL,
  frozen boolean NOT NULL DEFAULT false,
  frozen_reason text,
  status text GENERATED ALWAYS AS (CASE WHEN frozen THEN 'frozen' ELSE 'active' END) STORED,
  next_counter bigint NOT NULL DEFAULT 0 CHECK (next_counter >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, public_key)
);

-- Issuer keys (Ed25519). One 'active' key signs; 'verify' keys still verify until retired. The 32-byte
-- secret seed is sealed with the master key, bound to (tenant, key id) — never stored in plaintext.
CREATE TABLE issuer_keys (
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{2,64}$'),
  public_key bytea NOT NULL CHECK (octet_length(public_key) = 32),
  secret_key_sealed bytea NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'verify', 'retired')),
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz,
  PRIMARY KEY (tenant_id, key_id),
  CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys (tenant_id) WHERE status = 'active';

-- Ledger: accounts are named by (tenant, kind, owner, currency); `owner` is a wallet or merchant id, or
-- the tenant id for the tenant's own clearing/settlement accounts. Balances are never stored: they are the
-- sum of postings (view ledger_balances). `lock_version` only serializes guarded debits (see post.ts).
CREATE TABLE ledger_accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  kind text NOT NULL CHECK (kind IN ('wallet_available', 'purse_escrow', 'merchant_held', 'merchant_wallet',
    'merchant_bank_payable', 'card_clearing', 'bank_settlement', 'suspense')),
  owner opg_id NOT NULL,
  currency opg_currency NOT NULL,
  lock_version bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, kind, owner, currency)
);

CREATE TABLE ledger_entries (
  id uuid PRIMARY KEY,
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  ref text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
  memo text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, ref)
);
CREATE INDEX ledger_entries_created ON ledger_entries (tenant_id, created_at);

CREATE TABLE ledger_postings (
  entry_id uuid NOT NULL REFERENCES ledger_entries (id),
  seq integer NOT NULL,
  tenant_id opg_id NOT NULL,
  account_id bigint NOT NULL REFERENCES ledger_accounts (id),
  currency opg_currency NOT NULL,
  amount bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (entry_id, seq)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id);

CREATE VIEW ledger_balances AS
SELECT a.id AS account_id, a.tenant_id, a.kind, a.owner, a.currency,
       COALESCE(sum(p.amount), 0)::bigint AS balance
FROM ledger_accounts a
LEFT JOIN ledger_postings p ON p.account_id = a.id
GROUP BY a.id;

-- Defence in depth behind post(): the journal is append-only, and each entry balances per currency at
-- commit (a deferred constraint trigger, so an entry's postings may be inserted one by one).
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger % is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE FUNCTION ledger_entry_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.entry_id
             GROUP BY currency HAVING sum(amount) <> 0) THEN
    RAISE EXCEPTION 'ledger entry % does not balance', NEW.entry_id USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_postings_balanced AFTER INSERT ON ledger_postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();

-- SMS outbox: enqueued inside the business transaction, delivered by the outbox worker with retries.
CREATE TABLE sms_outbox (
  id uuid PRIMARY KEY,
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  idempotency_key text NOT NULL,
  to_number text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  provider_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE status = 'pending';

-- Messages "sent" through the sandbox SMS provider, for demos and tests.
CREATE TABLE sms_sandbox_messages (
  id uuid PRIMARY KEY,
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  idempotency_key text NOT NULL,
  to_number text NOT NULL,
  from_number text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX sms_sandbox_recent ON sms_sandbox_messages (tenant_id, created_at DESC);
