-- offline_payments is the hottest insert of ingest (one row per verified payment), and each index costs every
-- row. The one by purse served a single query, the purse release of the sweep, which now reaches the same rows
-- through (tenant_id, wallet_id, counter): a purse's tokens all count above its base, and its id is
-- "<wallet>:<base>" (src/reconcile/store.ts lockPurseForRelease).
DROP INDEX IF EXISTS offline_payments_purse;
