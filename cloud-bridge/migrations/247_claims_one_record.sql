-- One record per claim, and a purse sweep that pages per tenant.
--
-- Claims were recorded twice: the claims table (who, why, decision, note) and reconciliation's columns on
-- offline_payments (claimed_at, claim_reason, resolved_at, resolved_by). The claims table is now the one
-- record; the payment keeps only its state. Before the columns go, every payment that was disputed, reversed
-- or upheld without a claim row (a claim filed by an older bridge that stopped between the two writes) gets
-- its claim row back from those columns, so no disputed payment is left that no route can resolve.
INSERT INTO claims (tenant_id, id, tx_id, wallet_id, reason, status, filed_at, resolved_at, resolved_by)
SELECT p.tenant_id, substr(md5('claim:' || p.tenant_id || ':' || p.tx_id), 1, 16), p.tx_id, p.wallet_id,
       coalesce(p.claim_reason, 'recovered claim'),
       CASE p.state WHEN 'disputed' THEN 'open' WHEN 'reversed' THEN 'reversed' ELSE 'upheld' END,
       coalesce(p.claimed_at, p.updated_at),
       CASE WHEN p.state = 'disputed' THEN NULL ELSE coalesce(p.resolved_at, p.updated_at) END,
       CASE WHEN p.state = 'disputed' THEN NULL ELSE p.resolved_by END
  FROM offline_payments p
  JOIN wallets w ON w.tenant_id = p.tenant_id AND w.id = p.wallet_id
 WHERE p.state IN ('disputed', 'reversed', 'upheld') AND p.claimed_at IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.tenant_id = p.tenant_id AND c.tx_id = p.tx_id);

ALTER TABLE offline_payments DROP COLUMN claimed_at;
ALTER TABLE offline_payments DROP COLUMN claim_reason;
ALTER TABLE offline_payments DROP COLUMN resolved_at;
ALTER TABLE offline_payments DROP COLUMN resolved_by;

CREATE INDEX claims_open ON claims (tenant_id, filed_at) WHERE status = 'open';

-- The purse-release sweep pages each tenant's due purses by (expires_at, purse_id).
CREATE INDEX offline_purses_due_by_tenant ON offline_purses (tenant_id, expires_at, purse_id)
  WHERE released_at IS NULL;
CREATE INDEX wallet_purses_expiry ON wallet_purses (tenant_id, expires_at);
