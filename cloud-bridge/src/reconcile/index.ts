/** Reconciliation of offline payments: rules (planner), executor, service, and adapters to the bridge's modules. */
export {
  approvalSmsText,
  ledgerPort,
  smsOutboxNotifier,
  walletsTableFreezer,
} from './adapters.js'
export { applySteps, ExecutorError, insertPayments } from './executor.js'
export {
  type ArrivalInput,
  type Plan,
  planApprovals,
  planArrivals,
  planClaim,
  planPurseRelease,
  planResolve,
  type Resolution,
} from './planner.js'
export type {
  ApprovalNotice,
  Clock,
  LedgerPort,
  PayerNotifier,
  Queryable,
  TransactionRunner,
  Transfer,
  WalletFreezer,
} from './ports.js'
export { type Logger, Reconciler, type ReconcilerOptions, silentLogger } from './reconciler.js'
export { rowToPayment } from './store.js'
export * from './types.js'
