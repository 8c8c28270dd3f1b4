-- The ledger's defence in depth, per statement instead of per row: postMany writes a batch's postings in one
-- INSERT, and a deferred per-row trigger re-read each entry's postings at COMMIT (one index probe per posting),
-- and two foreign keys probed an entry and an account per posting. One statement-level trigger now checks the
-- rows of each INSERT at once, and checks more than before:
--   * every entry the statement writes balances per currency within the statement (post() and postMany()
--     write all of an entry's postings in one statement; an entry can no longer be balanced by a later one);
--   * every posting names an entry and an account of its own tenant (the foreign keys only checked existence,
--     across tenants).
-- Entries stay append-only; accounts may be updated (lock_version) but never deleted, which is what the
-- foreign key to them guaranteed for existing postings.
ALTER TABLE ledger_postings DROP CONSTRAINT IF EXISTS ledger_postings_entry_id_fkey;
ALTER TABLE ledger_postings DROP CONSTRAINT IF EXISTS ledger_postings_account_id_fkey;
DROP TRIGGER IF EXISTS ledger_postings_balanced ON ledger_postings;

CREATE FUNCTION ledger_postings_checked() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bad uuid;
BEGIN
  SELECT n.entry_id INTO bad FROM new_postings n GROUP BY n.entry_id, n.currency HAVING sum(n.amount) <> 0 LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger entry % does not balance', bad USING ERRCODE = '23514';
  END IF;
  SELECT n.entry_id INTO bad FROM new_postings n
    WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.id = n.entry_id AND e.tenant_id = n.tenant_id)
       OR NOT EXISTS (SELECT 1 FROM ledger_accounts a
                       WHERE a.id = n.account_id AND a.tenant_id = n.tenant_id AND a.currency = n.currency)
    LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger posting of entry % names no entry or account of its tenant', bad
      USING ERRCODE = '23503';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_checked AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_checked();

CREATE FUNCTION ledger_accounts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger accounts are never deleted' USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER ledger_accounts_kept BEFORE DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_kept();
