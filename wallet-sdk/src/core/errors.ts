/**
 * The wallet's own refusals. Every error the SDK throws on purpose is a WalletError with a stable `code`
 * an app can switch on (and translate for its users); wire/validation problems found by the protocol layer
 * stay ProtocolErrors, wrapped here as the `cause` when the wallet adds context.
 */

/** Stable codes of WalletError. The message is for logs; apps switch on the code. */
export const WALLET_ERROR_CODES = [
  /** No wallet state in the store: call `Wallet.create` first. */
  'no_wallet',
  /** `Wallet.create` on a store that already holds a wallet. */
  'wallet_exists',
  /** No offline purse is loaded (or it was already settled). */
  'no_purse',
  /** A live purse with money left is loaded; loading another would strand it until it expires. */
  'purse_active',
  /** The purse cannot cover this amount (remaining < amount). */
  'purse_exhausted',
  /** The purse's certificate has expired (or is not yet valid) by the wallet's clock. */
  'cert_expired',
  /** The amount exceeds the certificate's per-payment limit. */
  'over_limit',
  /** The amount is not a positive whole number of minor units. */
  'bad_amount',
  /** The certificate the bridge issued does not belong to this wallet's key or is not signed by a known issuer. */
  'bad_certificate',
  /** The merchant sticker is not a valid sticker QR. */
  'bad_sticker',
  /** The sticker's node certificate is not signed by a known issuer: a fake or tampered sticker. */
  'forged_sticker',
  /** The sticker's node certificate has expired. */
  'sticker_expired',
  /** A receipt did not verify against the box's certificate or does not match the payment. */
  'bad_receipt',
  /** The storage could not be read or written (or decrypted: wrong passphrase). */
  'storage',
  /** Wrong passphrase or key file for the encrypted store. */
  'bad_passphrase',
  /** No payment with that tx id in the wallet's log. */
  'unknown_payment',
  /** The bridge answered with an error (see `status` and `bridgeCode`). */
  'bridge',
  /** The bridge could not be reached. */
  'offline',
  /** The bridge URL is not https:// (plain http:// is allowed only to this device, for development). */
  'insecure_url',
  /** The bridge does not offer this operation yet. */
  'not_supported',
  /** The BLE exchange with the box failed. */
  'ble',
] as const

export type WalletErrorCode = (typeof WALLET_ERROR_CODES)[number]

/** A refusal by the wallet SDK, with a stable `code`. */
export class WalletError extends Error {
  override readonly name = 'WalletError'
  readonly code: WalletErrorCode
  /** The other side's code: the bridge's error code ('bridge') or the box's rejection code ('ble'). */
  readonly remoteCode: string | undefined
  /** The HTTP status ('bridge' only). */
  readonly status: number | undefined
  constructor(
    code: WalletErrorCode,
    message: string,
    options?: { cause?: unknown; remoteCode?: string; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.remoteCode = options?.remoteCode
    this.status = options?.status
  }
}

/** True when `err` is a WalletError, optionally with the given code. */
export function isWalletError(err: unknown, code?: WalletErrorCode): err is WalletError {
  return err instanceof WalletError && (code === undefined || err.code === code)
}
