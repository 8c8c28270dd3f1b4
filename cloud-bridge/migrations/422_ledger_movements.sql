-- Batched postings: reconciliation posts one journal entry per call (a device batch, a sweep) whose postings are
-- the net of its movements per account, instead of one entry and two postings per payment movement. What each
-- movement was is kept here, one narrow row per movement, and its (tenant, ref) stays unique: the ledger still
-- refuses to move money twice for one payment stage (`offline:{txId}:{stage}`, `refused:{token}:{stage}`,
-- `purse:{id}:release`), a replay of the same movement is still a no-op, and every movement names the entry that
-- carries it.
--   per payment before: 1 entry + 2 postings (3 heap rows, 7 index entries);
--   per payment now:    1 movement (1 heap row, 1 index entry) + its share of the batch's netted postings.
-- Account ids are the ledger_accounts ids of the movement's tenant (the same account currency on both sides);
-- like the postings, rows are append-only.
CREATE TABLE ledger_movements (
  tenant_id opg_id NOT NULL,
  ref text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
  entry_id uuid NOT NULL,
  from_account bigint NOT NULL,
  to_account bigint NOT NULL CHECK (to_account <> from_account),
  amount bigint NOT NULL CHECK (amount > 0),
  memo text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, ref)
);

CREATE TRIGGER ledger_movements_append_only BEFORE UPDATE OR DELETE ON ledger_movements
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- Movements posted before this migration, one entry each: the same rows, so their refs keep being refused twice.
INSERT INTO ledger_movements (tenant_id, ref, entry_id, from_account, to_account, amount, memo)
SELECT e.tenant_id, e.ref, e.id, f.account_id, d.account_id, d.amount, e.memo
  FROM ledger_entries e
  JOIN ledger_postings f ON f.tenant_id = e.tenant_id AND f.entry_id = e.id AND f.amount < 0
  JOIN ledger_postings d ON d.tenant_id = e.tenant_id AND d.entry_id = e.id AND d.amount > 0
 WHERE (e.ref LIKE 'offline:%' OR e.ref LIKE 'purse:%' OR e.ref LIKE 'refused:%')
   AND f.amount = -d.amount
   AND (SELECT count(*) FROM ledger_postings p WHERE p.tenant_id = e.tenant_id AND p.entry_id = e.id) = 2;
