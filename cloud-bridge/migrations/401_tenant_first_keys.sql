-- Every tenant table keyed with tenant_id first, so the schema can be distributed by tenant (Citus, or a
-- PostgreSQL-compatible distributed database): a unique index there must contain the distribution column, and
-- a row's key then says which shard holds it. Lookups by a bare id keep a plain (non-unique) index; ids stay
-- unique by construction (identity sequences, random UUIDs). The global tables that stay keyed otherwise are
-- listed, with why, in test/db/tenant-keys.test.ts.

-- A payment is a tenant's: two tenants' wallets could sign the same tx id, and one must not hide the other.
ALTER TABLE offline_payments DROP CONSTRAINT offline_payments_pkey, ADD PRIMARY KEY (tenant_id, tx_id);
DROP INDEX IF EXISTS offline_payments_due;
CREATE INDEX offline_payments_due ON offline_payments (tenant_id, hold_until) WHERE state = 'held';

-- The ledger. ledger_balances grouped by the accounts' primary key; it groups by (tenant_id, id) now.
DROP VIEW ledger_balances;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX ledger_accounts_id ON ledger_accounts (id);
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pkey, ADD PRIMARY KEY (tenant_id, id);
ALTER TABLE ledger_postings DROP CONSTRAINT ledger_postings_pkey, ADD PRIMARY KEY (tenant_id, entry_id, seq);
CREATE VIEW ledger_balances AS
SELECT a.id AS account_id, a.tenant_id, a.kind, a.owner, a.currency,
       COALESCE(sum(p.amount), 0)::bigint AS balance
FROM ledger_accounts a
LEFT JOIN ledger_postings p ON p.tenant_id = a.tenant_id AND p.account_id = a.id
GROUP BY a.tenant_id, a.id;

-- Rows named by a serial id or a random UUID: tenant first in the key, the bare id still indexed.
ALTER TABLE operator_alerts ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE operator_alerts DROP CONSTRAINT operator_alerts_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX operator_alerts_id ON operator_alerts (id);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX audit_log_id ON audit_log (id);
ALTER TABLE double_spend_proofs DROP CONSTRAINT double_spend_proofs_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX double_spend_proofs_id ON double_spend_proofs (id);
ALTER TABLE refused_tokens DROP CONSTRAINT refused_tokens_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX refused_tokens_id ON refused_tokens (id);
ALTER TABLE rejected_tokens DROP CONSTRAINT rejected_tokens_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX rejected_tokens_id ON rejected_tokens (id);
ALTER TABLE sms_outbox DROP CONSTRAINT sms_outbox_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX sms_outbox_id ON sms_outbox (id);
ALTER TABLE sms_sandbox_messages DROP CONSTRAINT sms_sandbox_messages_pkey, ADD PRIMARY KEY (tenant_id, id);
CREATE INDEX sms_sandbox_messages_id ON sms_sandbox_messages (id);
