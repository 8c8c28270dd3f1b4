/**
 * The box's side of a BLE payment session, in memory, built on the protocol's own box functions: a
 * BleMessageChannel for the wallet to talk to. Options make it an impostor or a refusing box.
 */
import {
  type BleCipher,
  boxRespond,
  type CryptoBackend,
  decodeInner,
  decodeToken,
  type ErrorCode,
  encodeInner,
  type IssuerKeyring,
  type NodeCertificate,
  signReceipt,
  verifyToken,
} from '@opg/protocol'
import type { BleMessageChannel } from '../../src/core/ble-pay.js'

export interface FakeBoxOptions {
  /** Fixed ephemeral secret and challenge (test vectors). */
  ephemeralSecret?: Uint8Array
  challenge?: Uint8Array
  /** Refuse every token with this code. */
  reject?: ErrorCode
  acceptedAt?: number
}

export class FakeBoxChannel implements BleMessageChannel {
  readonly received: Uint8Array[] = []
  readonly sent: Uint8Array[] = []
  opened = false
  closed = 0
  #cipher: BleCipher | undefined
  #challenge: Uint8Array | undefined
  readonly #outbox: Uint8Array[] = []

  constructor(
    private readonly c: CryptoBackend,
    private readonly node: { signingSecret: Uint8Array; cert: NodeCertificate },
    private readonly issuerKeys: IssuerKeyring,
    private readonly o: FakeBoxOptions = {},
  ) {}

  async open(): Promise<void> {
    this.opened = true
  }

  async send(message: Uint8Array): Promise<void> {
    this.received.push(message)
    if (!this.#cipher) {
      const r = boxRespond(this.c, this.node, message, this.o.ephemeralSecret, this.o.challenge)
      this.#cipher = r.cipher
      this.#challenge = r.challenge
      this.#reply(r.message)
      return
    }
    const inner = decodeInner(this.#cipher.open(message))
    if (inner.kind !== 'token') throw new Error('box expected a token')
    if (this.o.reject) {
      this.#reply(this.#cipher.seal(encodeInner({ kind: 'reject', code: this.o.reject })))
      return
    }
    const token = decodeToken(inner.token)
    verifyToken(this.c, token, {
      issuerKeys: this.issuerKeys,
      merchantId: this.node.cert.merchantId,
      deviceId: this.node.cert.deviceId,
      challenge: this.#challenge!,
    })
    const receipt = signReceipt(this.c, this.node.signingSecret, token, this.o.acceptedAt ?? token.walletTime)
    this.#reply(this.#cipher.seal(encodeInner({ kind: 'receipt', receipt: receipt.bytes })))
  }

  async receive(): Promise<Uint8Array> {
    const m = this.#outbox.shift()
    if (!m) throw new Error('nothing to receive')
    return m
  }

  async close(): Promise<void> {
    this.closed++
  }

  #reply(m: Uint8Array): void {
    this.sent.push(m)
    this.#outbox.push(m)
  }
}
