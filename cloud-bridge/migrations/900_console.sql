-- 900 console: sessions of people signed in to the web console, and the fleet's unsynced exposure over time.

-- A session is created by signing in with an operator or merchant API key. Only a hash of the session id is
-- stored (the id travels in an HttpOnly cookie); `csrf` is the token every form of the session must carry.
CREATE TABLE console_sessions (
  id_hash bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  key_id opg_id NOT NULL,
  role text NOT NULL CHECK (role IN ('operator', 'merchant')),
  subject_id opg_id,
  csrf text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Value accepted offline and not yet at the bridge, per tenant and currency, as the boxes report it in their
-- status; sampled by the bridge so the console can chart it and alerts can compare it with the tenant's limit.
CREATE TABLE exposure_samples (
  tenant_id opg_id NOT NULL REFERENCES tenants (id),
  at timestamptz NOT NULL,
  currency opg_currency NOT NULL,
  amount bigint NOT NULL CHECK (amount >= 0),
  boxes integer NOT NULL,
  PRIMARY KEY (tenant_id, currency, at)
);

-- The tenant's own ceiling on unsynced exposure (minor units of its currency); null = no alert.
ALTER TABLE tenants ADD COLUMN exposure_limit bigint CHECK (exposure_limit IS NULL OR exposure_limit >= 0);
