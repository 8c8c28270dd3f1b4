/**
 * The double-entry ledger: accounts, idempotent balanced entries, batched movements, guarded debits, derived
 * balances and invariant checks. See README.md §Ledger.
 */
export {
  ACCOUNT_KINDS,
  type Account,
  type AccountKind,
  accountKey,
  accounts,
  GUARDED_KINDS,
} from './accounts.js'
export {
  type AccountBalance,
  balance,
  balances,
  checkInvariants,
  type InvariantViolation,
} from './balances.js'
export { isLedgerError, LedgerError, type LedgerErrorCode } from './errors.js'
export {
  findMovement,
  type Movement,
  postMovements,
  type RecordedMovement,
} from './movements.js'
export {
  type Entry,
  type EntryInput,
  findEntry,
  type LedgerTx,
  type Posting,
  post,
  transfer,
} from './post.js'
