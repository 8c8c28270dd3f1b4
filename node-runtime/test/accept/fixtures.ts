/**
 * Test keys and a mint for real payment tokens: a test issuer signs wallet and node certificates, a test
 * wallet signs tokens, tokens are sealed to the node's X25519 key and rendered as QR text — the same
 * protocol functions a phone uses.
 */
import {
  type Bytes,
  chainStart,
  encodeQrText,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  issueNodeCertificate,
  issueWalletCertificate,
  type KeyPair,
  makeKeyring,
  type PaymentToken,
  sealEnvelope,
  signToken,
  tokenHash,
  uuidv7,
  type WalletCertificate,
} from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'

export { c }

export const TENANT = '0a0b0c0d0e0f1011'
export const MERCHANT = '1111222233334444'
/** The default device; worlds made for broker tests get a random one (the device id is the MQTT client id). */
export const DEVICE = 'd0d1d2d3d4d5d6d7'
/**
 * A fixed "now" for tests of pure functions and injected clocks: 2026-11-27T12:00:00Z. A test that runs a
 * real process (which reads the wall clock) must make its world with `makeWorld(id, Date.now())` instead, or its
 * certificates expire on the calendar.
 */
export const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0)

export interface TestWorld {
  deviceId: string
  /** The instant the world's certificates and tokens are issued around. */
  nowMs: number
  issuer: KeyPair
  issuerKeys: ReadonlyMap<string, Bytes>
  nodeSigning: KeyPair
  nodeEncryption: KeyPair
  nodeCertBytes: Bytes
  deviceSecret: Bytes
}

export function makeWorld(deviceId: string = DEVICE, nowMs: number = NOW_MS): TestWorld {
  const issuer = generateSigningKeyPair(c)
  const nodeSigning = generateSigningKeyPair(c)
  const nodeEncryption = generateEncryptionKeyPair(c)
  const nowS = Math.floor(nowMs / 1000)
  const nodeCert = issueNodeCertificate(c, issuer, {
    tenantId: TENANT,
    merchantId: MERCHANT,
    deviceId,
    signingKey: nodeSigning.publicKey,
    encryptionKey: nodeEncryption.publicKey,
    issuedAt: nowS - 86_400,
    expiresAt: nowS + 365 * 86_400,
  })
  return {
    deviceId,
    nowMs,
    issuer,
    issuerKeys: makeKeyring(c, [issuer.publicKey]),
    nodeSigning,
    nodeEncryption,
    nodeCertBytes: nodeCert.bytes,
    deviceSecret: c.randomBytes(16),
  }
}

export interface WalletOptions {
  walletId?: string
  perPaymentLimit?: number
  purseAmount?: number
  currency?: string
  counterBase?: number
  issuedAt?: number
  expiresAt?: number
  issuer?: KeyPair
}

/** A wallet with a purse certificate; `pay` signs the next token in its hash chain. */
export class TestWallet {
  readonly keys: KeyPair = generateSigningKeyPair(c)
  readonly cert: WalletCertificate
  readonly deviceId: string
  readonly nowMs: number
  counter: number
  prevHash: Bytes

  constructor(world: TestWorld, o: WalletOptions = {}) {
    this.nowMs = world.nowMs
    const nowS = Math.floor(this.nowMs / 1000)
    this.deviceId = world.deviceId
    this.cert = issueWalletCertificate(c, o.issuer ?? world.issuer, {
      walletId: o.walletId ?? Buffer.from(c.randomBytes(8)).toString('hex'),
      publicKey: this.keys.publicKey,
      perPaymentLimit: o.perPaymentLimit ?? 5_000,
      purseAmount: o.purseAmount ?? 20_000,
      currency: o.currency ?? 'EUR',
      counterBase: o.counterBase ?? 0,
      issuedAt: o.issuedAt ?? nowS - 3_600,
      expiresAt: o.expiresAt ?? nowS + 48 * 3_600,
    })
    this.counter = this.cert.counterBase
    this.prevHash = chainStart(c, this.cert)
  }

  /** Sign a token for `amount` (advancing the chain). */
  token(
    amount: number,
    o: { merchantId?: string; deviceId?: string; challenge?: Bytes; signer?: Bytes } = {},
  ): PaymentToken {
    this.counter++
    const t = signToken(c, o.signer ?? this.keys.secretKey, this.cert, {
      txId: uuidv7(c, this.nowMs),
      merchantId: o.merchantId ?? MERCHANT,
      deviceId: o.deviceId ?? this.deviceId,
      amount,
      counter: this.counter,
      prevHash: this.prevHash,
      walletTime: Math.floor(this.nowMs / 1000),
      ...(o.challenge ? { challenge: o.challenge } : {}),
    })
    this.prevHash = tokenHash(c, t)
    return t
  }
}

/** Seal a token to the node and render the QR text a phone would show. */
export function qrFor(world: TestWorld, token: PaymentToken | Bytes): string {
  const bytes = token instanceof Uint8Array ? token : token.bytes
  return encodeQrText(sealEnvelope(c, world.nodeEncryption.publicKey, bytes))
}

/** A random 8-byte id in hex. */
export function randomId(): string {
  return Buffer.from(c.randomBytes(8)).toString('hex')
}

/** A clock pinned to a settable time. */
export class FixedClock {
  constructor(public ms: number = NOW_MS) {}
  now(): number {
    return this.ms
  }
}
