-- Payer fraud claims. One claim per payment; the decision is applied by reconciliation through the ledger.
CREATE TABLE claims (
  tenant_id    opg_id NOT NULL REFERENCES tenants (id),
  id           opg_id NOT NULL,
  tx_id        text NOT NULL,
  wallet_id    opg_id NOT NULL,
  reason       text NOT NULL,
  status       text NOT NULL CHECK (status IN ('open', 'reversed', 'upheld')),
  filed_at     timestamptz NOT NULL DEFAULT now(),
  resolved_at  timestamptz,
  resolved_by  text,
  note         text,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, tx_id),
  FOREIGN KEY (tenant_id, wallet_id) REFERENCES wallets (tenant_id, id)
);
