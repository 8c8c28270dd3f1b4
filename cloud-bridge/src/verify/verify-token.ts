/**
 * Verifying one payment token at the bridge, as a pure function of its bytes, the tenant's issuer keyring and
 * the bridge clock. Runs inside the worker pool (pool.ts) and inline; returns the facts reconciliation needs or
 * the ProtocolError code that refused it.
 *
 * Certificate expiry: a box accepts a token only while the wallet certificate is valid on its own trusted
 * clock, but may upload it days later. So the bridge accepts a token of an expired certificate for `graceS`
 * after expiry (the same grace that keeps the purse's escrow open), and refuses it as 'expired' after that.
 */
import { createHash } from 'node:crypto'
import {
  type CryptoBackend,
  tokenHash as chainLink,
  chainStart,
  decodeToken,
  type ErrorCode,
  type IssuerKeyring,
  isProtocolError,
  type PaymentToken,
  toHex,
  tokenBodyHash,
  verifyToken,
} from '@opg/protocol'
import type { TokenFacts } from '../reconcile/types.js'
import type { CertCache } from './cert-cache.js'

/** What every token of one request is checked against. */
export interface VerifyContext {
  tenantId: string
  /** The tenant's issuer public keys by key id (hex). */
  issuerKeys: IssuerKeyring
  /** Bridge time, unix seconds. */
  nowS: number
  /** Seconds after certificate expiry during which its tokens are still accepted. */
  graceS: number
  /** When set (merchant side), every token must name this merchant and device. */
  merchantId?: string
  deviceId?: string
}

/** Facts of a verified token, without its bytes (the caller already has them). */
export type VerifiedFacts = Omit<TokenFacts, 'token'>

export type VerifyResult =
  | { ok: true; facts: VerifiedFacts }
  | { ok: false; code: ErrorCode; txId: string | null; tokenHash: string }

/** Hex SHA-256 of token bytes: the name of a token that did not verify (its body proves nothing). */
export function tokenDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** The purse (wallet certificate) a token spends from: wallet id and the certificate's counter base. */
export function purseIdOf(walletId: string, counterBase: number | bigint): string {
  return `${walletId}:${counterBase}`
}

/**
 * Verify one token. Never throws for bad input: a refused token is a result with its code. With `certs`, the
 * purse certificate's issuer signature is checked once per distinct certificate (see cert-cache.ts).
 */
export function verifyTokenBytes(
  c: CryptoBackend,
  bytes: Uint8Array,
  ctx: VerifyContext,
  certs?: CertCache,
): VerifyResult {
  let token: PaymentToken | undefined
  try {
    token = decodeToken(bytes)
    const exp = token.cert.expiresAt
    const late = ctx.nowS >= exp && ctx.nowS < exp + ctx.graceS
    verifyToken(c, token, {
      issuerKeys: ctx.issuerKeys,
      nowS: late ? exp - 1 : ctx.nowS,
      ...(ctx.merchantId !== undefined ? { merchantId: ctx.merchantId } : {}),
      ...(ctx.deviceId !== undefined ? { deviceId: ctx.deviceId } : {}),
      ...(certs ? { verifyCertificate: certs.verify } : {}),
    })
    return {
      ok: true,
      facts: {
        txId: token.txId,
        tenantId: ctx.tenantId,
        walletId: token.walletId,
        merchantId: token.merchantId,
        deviceId: token.deviceId,
        amount: token.amount,
        currency: token.currency,
        counter: token.counter,
        purseId: purseIdOf(token.walletId, token.cert.counterBase),
        purseAmount: token.cert.purseAmount,
        purseExpiresAt: token.cert.expiresAt * 1000,
        // A verified token is named by its signed body: a re-signed or mauled copy is the same payment.
        tokenHash: toHex(tokenBodyHash(c, token)),
        counterBase: token.cert.counterBase,
        prevHash: toHex(token.prevHash),
        link: toHex(chainLink(c, token)),
        chainStart: certs ? certs.chainStartOf(c, token.cert) : toHex(chainStart(c, token.cert)),
      },
    }
  } catch (err) {
    const code: ErrorCode = isProtocolError(err) ? err.code : 'bad_encoding'
    // Named by the digest of its bytes: computed only for a refused token (a verified one is named by its body).
    return { ok: false, code, txId: token?.txId ?? null, tokenHash: tokenDigest(bytes) }
  }
}
