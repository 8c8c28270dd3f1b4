/** The portable core's public surface. */

export { type CryptoBackend, nobleBackend } from '@opg/protocol'
export { fromB64u, toB64u } from './base64url.js'
export {
  type BleMessageChannel,
  type BlePaymentResult,
  type BleRetryResult,
  payOverBle,
  retryOverBle,
} from './ble-pay.js'
export * from './bridge-client.js'
export { isWalletError, WALLET_ERROR_CODES, WalletError, type WalletErrorCode } from './errors.js'
export { claim, history, loadPurse, registerWallet, type SyncResult, sync, walletClient } from './online.js'
export {
  getInvoice,
  type InvoiceInfo,
  type OnlinePaymentInfo,
  onlinePayment,
  parseInvoiceQr,
  payInvoiceOnline,
  payMerchantOnline,
  topUpByCard,
} from './online-payments.js'
export { type Payment, type PayOptions, sealPayment } from './payment.js'
export { type Signer, softwareSigner } from './signer.js'
export type { LogRecord } from './state.js'
export { type MerchantTarget, readSticker } from './sticker.js'
export { MemoryStorage, type WalletStorage } from './storage.js'
export { checkSpend, signTokenWith } from './token-signing.js'
export { type LogEntry, type PurseStatus, Wallet, type WalletOptions } from './wallet.js'
