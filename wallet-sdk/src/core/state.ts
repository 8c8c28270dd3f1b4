/**
 * The wallet's persisted state and its JSON form: identity, the issuer keyring, the offline purse (remaining
 * amount, next counter, hash of the previous token), the write-ahead record of a payment being signed, and the
 * signed log. All of it is one record so a payment's commit is one atomic write.
 */
import { type Bytes, fromHex, toHex } from '@opg/protocol'
import { WalletError } from './errors.js'

/** The offline purse as stored: the certificate plus what has been spent under it. */
export interface PurseRecord {
  /** The wallet certificate the bridge issued (hex). */
  cert: string
  /** Minor units still spendable offline. */
  remaining: number
  /** The counter the next token will carry (counterBase + 1 for a fresh purse). */
  nextCounter: number
  /** Chain link for the next token (hex, 16 bytes): chainStart(cert), then tokenHash(previous token). */
  prevHash: string
  /** Wallet clock (ms) when the purse was installed. */
  loadedAt: number
}

/** What the wallet is about to sign, written before signing (write-ahead), so a crash can never reuse a counter. */
export interface PendingRecord {
  txId: string
  merchantId: string
  deviceId: string
  merchantName: string
  /** The box's node certificate (hex), so the payment can be sealed to it again. */
  nodeCert: string
  amount: number
  counter: number
  prevHash: string
  walletTime: number
  challenge?: string
  createdAt: number
}

/** One signed token in the wallet's log — the payer side of reconciliation. */
export interface LogRecord {
  txId: string
  counter: number
  amount: number
  currency: string
  merchantId: string
  deviceId: string
  merchantName: string
  /** The box's node certificate (hex). */
  nodeCert: string
  /** The signed token bytes (hex). */
  token: string
  createdAt: number
  /** True when the token was re-signed after a crash and may never have reached the box. */
  recovered?: boolean
  /**
   * The box's rejection code when it refused this token over BLE. Such a token is never uploaded (the payer's
   * upload would credit the merchant); it stays counted as spent in case the box kept it anyway.
   */
  refused?: string
  /** The box's signed receipt (hex), when one came back (BLE). */
  receipt?: string
  /** When the bridge acknowledged this token in a log upload (ms), and what it said. */
  syncedAt?: number
  syncOutcome?: string
}

export interface WalletState {
  v: 1
  /** Public key (hex). The secret is here only for the software signer (`seed`). */
  publicKey: string
  seed?: string
  /** Assigned by the bridge at registration. */
  walletId?: string
  tenantId?: string
  /** The wallet's bridge API key (a credential: this record lives in secure storage). */
  apiKey?: string
  /** Issuer public keys by key id. */
  issuerKeys: Record<string, string>
  purse?: PurseRecord
  /** The highest counter ever reserved: a purse certificate whose range lies below it is never reinstalled. */
  lastCounter?: number
  pending?: PendingRecord
  log: LogRecord[]
}

export const STATE_KEY = 'wallet'

export function encodeState(s: WalletState): string {
  return JSON.stringify(s)
}

export function decodeState(text: string): WalletState {
  let s: unknown
  try {
    s = JSON.parse(text)
  } catch (cause) {
    throw new WalletError('storage', 'wallet state is not valid JSON', { cause })
  }
  const st = s as Partial<WalletState>
  if (st?.v !== 1 || typeof st.publicKey !== 'string' || !Array.isArray(st.log)) {
    throw new WalletError('storage', 'wallet state has an unknown format')
  }
  return st as WalletState
}

export function keyringFromState(s: WalletState): Map<string, Bytes> {
  return new Map(Object.entries(s.issuerKeys).map(([kid, pub]) => [kid, fromHex(pub)]))
}

export function keyringToState(keys: ReadonlyMap<string, Bytes>): Record<string, string> {
  return Object.fromEntries([...keys].map(([kid, pub]) => [kid, toHex(pub)]))
}
