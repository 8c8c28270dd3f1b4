/** Payment confirmations to the box (case 3): `OPG1 PAID` SMS and MQTT `invoice_paid`, with replay protection. */
export {
  type CounterStateDb,
  type CounterStore,
  type CounterVerdict,
  CounterWindow,
  type CounterWindowSnapshot,
  DEFAULT_WINDOW,
  memoryCounterStore,
  stateCounterStore,
} from './counter-window.js'
export {
  type Confirmation,
  ConfirmError,
  type ConfirmErrorCode,
  type ConfirmLogger,
  type ConfirmReport,
  type InvoicePaidCommand,
  type NoticeJournal,
  type NoticeOutcome,
  PaidNotices,
  type PaidNoticesOptions,
  type RefusalCode,
} from './paid-notices.js'
