-- Running balances of guarded accounts: the balance checkpoint of issue 18, kept at every posting.
-- A guarded debit (an account that must never go below zero: a wallet, a purse, a merchant's money) used to sum
-- every posting the account ever had, under its row lock: a cost that grew with the account's history, once per
-- batch for every purse and merchant in it. A guarded account now carries its balance, and the ledger reads
-- that one row when it takes the lock.
--   * `guarded` is derived from the kind (the same kinds as GUARDED_KINDS in src/ledger/accounts.ts; a test
--     holds the two lists together), so no writer can set it wrong.
--   * `balance` is kept by a statement trigger on the postings: every INSERT into ledger_postings adds its net per
--     guarded account, whoever writes it, in the same statement. Other accounts keep balance = 0 and stay
--     derived from their postings (view ledger_balances), so the tenant's clearing accounts, credited by every
--     batch, take no row lock.
--   * The ledger locks every guarded account an entry touches, credits included, in account-id order before
--     it writes (post.ts, movements.ts), so the trigger's UPDATE never waits in a cycle.
--   * A guarded balance below zero is refused by a CHECK as well: the ledger's own check comes first, with the
--     account and amounts; this one holds against any other writer.
-- checkInvariants() compares every running balance with the sum of its postings.
-- `lock_version` goes: the ledger locks a guarded account's row with SELECT … FOR NO KEY UPDATE and writes its
-- balance, so nothing bumps a counter to take the lock any more.
ALTER TABLE ledger_accounts
  DROP COLUMN lock_version,
  ADD COLUMN guarded boolean NOT NULL GENERATED ALWAYS AS (
    kind IN ('wallet_available', 'purse_escrow', 'merchant_held', 'merchant_wallet', 'merchant_bank_payable')
  ) STORED,
  ADD COLUMN balance bigint NOT NULL DEFAULT 0;

UPDATE ledger_accounts a SET balance = s.balance
  FROM (SELECT tenant_id, account_id, sum(amount)::bigint AS balance FROM ledger_postings
         GROUP BY tenant_id, account_id) s
 WHERE a.guarded AND a.tenant_id = s.tenant_id AND a.id = s.account_id;

ALTER TABLE ledger_accounts
  ADD CONSTRAINT ledger_accounts_guarded_balance CHECK (CASE WHEN guarded THEN balance >= 0 ELSE balance = 0 END);

-- A trigger of its own beside migration 400's checks (triggers of one event fire in name order, so
-- ledger_postings_checked refuses a malformed statement before this one runs).
CREATE FUNCTION ledger_postings_running_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ledger_accounts a SET balance = a.balance + d.delta
    FROM (SELECT n.tenant_id, n.account_id, sum(n.amount)::bigint AS delta FROM new_postings n
           GROUP BY n.tenant_id, n.account_id) d
   WHERE a.tenant_id = d.tenant_id AND a.id = d.account_id AND a.guarded AND d.delta <> 0;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_postings_running_balances AFTER INSERT ON ledger_postings
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_running_balances();
