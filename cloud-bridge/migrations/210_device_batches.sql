-- Device batches received over MQTT, and tokens refused at ingest (device liveness lives in devices).

-- One row per batch a box sent (by its own batch id); re-deliveries bump `deliveries` and are otherwise harmless.
CREATE TABLE IF NOT EXISTS device_batches (
  device_id    text NOT NULL,
  batch_id     text NOT NULL,
  tenant_id    text NOT NULL,
  received_at  timestamptz NOT NULL,
  items        integer NOT NULL,
  accepted     integer NOT NULL,
  rejected     integer NOT NULL,
  deliveries   integer NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, device_id, batch_id)
);

-- Tokens a box sent that failed verification: acked as rejected (so the box stops resending) and kept here.
CREATE TABLE IF NOT EXISTS rejected_tokens (
  id          bigserial PRIMARY KEY,
  tenant_id   text NOT NULL,
  device_id   text NOT NULL,
  tx_id       text,
  code        text NOT NULL,
  token       bytea NOT NULL,
  token_hash  text NOT NULL,
  received_at timestamptz NOT NULL,
  UNIQUE (tenant_id, device_id, token_hash)
);
