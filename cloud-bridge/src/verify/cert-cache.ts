/**
 * Purse certificates the bridge already verified, so a purse of many tokens costs one issuer-signature check
 * and each token one wallet-signature check.
 *
 * Keyed on the whole certificate bytes (as a binary string: exact, and cheaper than hashing them), issuer
 * signature included: a certificate with the same body and another signature is another key, so it is verified
 * (and refused) on its own. An entry remembers the
 * issuer public key it verified under, and is honoured only while the tenant's keyring still maps that key id
 * to that same key: retiring an issuer key (the revocation of every purse it signed) or rotating the key id to
 * another key makes its entries misses, which are evicted on sight. The validity period is checked on every
 * use against the caller's clock, never cached. Bounded: least recently used entries go first.
 *
 * An entry also keeps the certificate's chain start (SHA-256 of the certificate under the chain domain), which
 * every token of the purse reports to reconciliation: one hash per purse instead of one per token.
 *
 * One cache per thread (each verification worker holds its own); `forget` evicts a wallet's or an issuer
 * key's entries explicitly (the pool broadcasts it to every worker).
 */
import {
  type Bytes,
  type CryptoBackend,
  chainStart,
  checkWalletCertificateValidity,
  type IssuerKeyring,
  verifyWalletCertificate,
  type WalletCertificate,
} from '@opg/protocol'

interface Entry {
  issuerKeyId: string
  issuerKey: Bytes
  walletId: string
  /** Hex chain start of the certificate, computed on first use. */
  chainStart?: string
}

/** What to evict: every certificate of a wallet, or every certificate an issuer key signed. */
export type CertFilter = { walletId: string } | { issuerKeyId: string }

const sameBytes = (a: Bytes, b: Bytes) => a.length === b.length && a.every((v, i) => v === b[i])

/** The cache key of a certificate: its exact bytes as a binary string. */
const keyOf = (cert: WalletCertificate) =>
  Buffer.from(cert.bytes.buffer, cert.bytes.byteOffset, cert.bytes.byteLength).toString('latin1')

export class CertCache {
  private readonly entries = new Map<string, Entry>()
  hits = 0
  misses = 0

  constructor(readonly max = 20_000) {}

  get size(): number {
    return this.entries.size
  }

  /** A drop-in for verifyWalletCertificate (VerifyTokenOptions.verifyCertificate). Throws as it does. */
  readonly verify = (
    c: CryptoBackend,
    cert: WalletCertificate,
    issuerKeys: IssuerKeyring,
    nowS: number | undefined,
  ): void => {
    const key = keyOf(cert)
    const hit = this.entries.get(key)
    if (hit) {
      const now = issuerKeys.get(hit.issuerKeyId)
      if (now && sameBytes(now, hit.issuerKey)) {
        this.hits++
        this.entries.delete(key)
        this.entries.set(key, hit)
        if (nowS !== undefined) checkWalletCertificateValidity(cert, nowS)
        return
      }
      this.entries.delete(key)
    }
    this.misses++
    verifyWalletCertificate(c, cert, issuerKeys)
    const issuerKey = issuerKeys.get(cert.issuerKeyId)
    if (issuerKey) {
      this.entries.set(key, { issuerKeyId: cert.issuerKeyId, issuerKey, walletId: cert.walletId })
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!)
    }
    if (nowS !== undefined) checkWalletCertificateValidity(cert, nowS)
  }

  /**
   * The hex chain start of a certificate `verify` has just accepted, memoized on its entry (computed directly when
   * the certificate is not cached).
   */
  chainStartOf(c: CryptoBackend, cert: WalletCertificate): string {
    const hit = this.entries.get(keyOf(cert))
    if (hit?.chainStart) return hit.chainStart
    const hex = Buffer.from(chainStart(c, cert)).toString('hex')
    if (hit) hit.chainStart = hex
    return hex
  }

  /** Evict the entries matching `f`; returns how many. */
  forget(f: CertFilter): number {
    let n = 0
    for (const [k, e] of this.entries) {
      if ('walletId' in f ? e.walletId === f.walletId : e.issuerKeyId === f.issuerKeyId) {
        this.entries.delete(k)
        n++
      }
    }
    return n
  }
}
