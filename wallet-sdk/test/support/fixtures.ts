/**
 * A small world for wallet tests: an issuer, one certified box with its sticker, and a helper that issues
 * purse certificates the way the bridge does — all with the backend under test.
 */
import {
  type CryptoBackend,
  encodeSticker,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  issueNodeCertificate,
  issueWalletCertificate,
  type KeyPair,
  makeKeyring,
  type NodeCertificate,
} from '@opg/protocol'
import { MemoryStorage, type WalletStorage } from '../../src/core/storage.js'

export const T0 = Date.UTC(2026, 10, 27, 12, 0, 0)
export const T0_S = Math.floor(T0 / 1000)

export interface Box {
  signing: KeyPair
  encryption: KeyPair
  cert: NodeCertificate
  sticker: string
}

export function makeBox(
  c: CryptoBackend,
  issuer: KeyPair,
  ids: { merchantId: string; deviceId: string },
  name = 'Corner Cafe',
  ttlS = 365 * 86400,
  /** The instant to issue around: T0 for pure tests, Date.now() when a real process reads the wall clock. */
  nowMs = T0,
): Box {
  const nowS = Math.floor(nowMs / 1000)
  const signing = generateSigningKeyPair(c)
  const encryption = generateEncryptionKeyPair(c)
  const cert = issueNodeCertificate(c, issuer, {
    tenantId: '0000000000000001',
    merchantId: ids.merchantId,
    deviceId: ids.deviceId,
    signingKey: signing.publicKey,
    encryptionKey: encryption.publicKey,
    issuedAt: nowS - 3600,
    expiresAt: nowS - 3600 + ttlS,
  })
  return { signing, encryption, cert, sticker: encodeSticker({ nodeCert: cert, merchantName: name }) }
}

/** A test world issued around `nowMs` (T0; pass Date.now() for tests that run the CLI as a real process). */
export function world(c: CryptoBackend, nowMs = T0) {
  const issuer = generateSigningKeyPair(c)
  const keyring = makeKeyring(c, [issuer.publicKey])
  const box = makeBox(
    c,
    issuer,
    { merchantId: '00000000000000aa', deviceId: '00000000000000d1' },
    undefined,
    undefined,
    nowMs,
  )
  let now = nowMs
  const clock = {
    now: () => now,
    advance: (ms: number) => {
      now += ms
    },
  }
  const issuePurse = (
    publicKey: Uint8Array,
    o: {
      amount?: number
      limit?: number
      ttlS?: number
      counterBase?: number
      by?: KeyPair
      walletId?: string
    } = {},
  ) =>
    issueWalletCertificate(c, o.by ?? issuer, {
      walletId: o.walletId ?? '0000000000000c01',
      publicKey,
      perPaymentLimit: o.limit ?? 5000,
      purseAmount: o.amount ?? 10000,
      currency: 'EUR',
      counterBase: o.counterBase ?? 100,
      issuedAt: Math.floor(now / 1000),
      expiresAt: Math.floor(now / 1000) + (o.ttlS ?? 72 * 3600),
    }).bytes
  return { c, issuer, keyring, box, clock, issuePurse }
}

/** Storage that loses power: after `arm(n)`, the n-th next `set` throws before anything is written. */
export class PowerCutStorage implements WalletStorage {
  readonly inner = new MemoryStorage()
  #countdown = 0

  arm(n: number): void {
    this.#countdown = n
  }

  async get(key: string): Promise<string | undefined> {
    return this.inner.get(key)
  }

  async set(key: string, value: string): Promise<void> {
    if (this.#countdown > 0 && --this.#countdown === 0) throw new Error('power cut')
    return this.inner.set(key, value)
  }

  async delete(key: string): Promise<void> {
    return this.inner.delete(key)
  }
}
