/** Offline acceptance of payments: the acceptor, its rules, the protocol verifier, the QR loop and BLE sessions. */
export {
  type AcceptCode,
  type AcceptInput,
  type AcceptOutcome,
  Acceptor,
  type AcceptorOptions,
  type PaymentVerifier,
  type Receipt,
} from './acceptor.js'
export { type BlePaymentOptions, blePaymentHandler } from './ble-payments.js'
export {
  dayOf,
  type ExposurePolicy,
  evaluate,
  type LedgerView,
  VaultView,
  type Verdict,
  type VerifiedPayment,
} from './ledger.js'
export type { ClockPort, SignalPort } from './ports.js'
export { type ProtocolVerifierOptions, protocolVerifier } from './protocol-verifier.js'
export { QrAcceptLoop, type QrLoopOptions } from './qr-loop.js'
