/**
 * Building a simulated fleet through the bridge's public API, as an operator would: merchants and boxes
 * enrolled (each box gets its device secret once), customer wallets registered, credited and given an offline
 * purse (the certificate the tenant's issuer signs), then each box's offline payments signed by its
 * customers' wallet keys. One customer wallet per box keeps every purse's chain in one box's batch, as a
 * shop's regulars would.
 */
import { randomInt } from 'node:crypto'
import {
  chainStart,
  decodeWalletCertificate,
  generateSigningKeyPair,
  type PaymentToken,
  signToken,
  tokenHash,
  uuidv7,
} from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import { Api } from '../api.js'
import type { EnrolledBox } from './sim-box.js'

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(
  items: T[],
  limit: number,
  fn: (x: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i]!, i)
      }
    }),
  )
  return out
}

/** Enrol `n` boxes, `perMerchant` to a merchant, through the operator API. */
export async function enrolBoxes(
  api: Api,
  tenantId: string,
  n: number,
  perMerchant = 10,
  concurrency = 16,
): Promise<EnrolledBox[]> {
  const merchants = await pool(
    Array.from({ length: Math.ceil(n / perMerchant) }, (_, i) => i),
    concurrency,
    async (i) => (await api.post('/v1/merchants', { name: `Load shop ${i + 1}` })).merchant.id as string,
  )
  return pool(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    async (i) => {
      const merchantId = merchants[Math.floor(i / perMerchant)]!
      const d = await api.post(`/v1/merchants/${merchantId}/devices`, { label: `box ${i + 1}` })
      return {
        tenantId,
        merchantId,
        deviceId: d.device.id as string,
        secret: new Uint8Array(Buffer.from(d.deviceSecret as string, 'hex')),
      }
    },
  )
}

/** A customer wallet with a loaded purse: the simulator holds its signing key, the bridge signed its purse. */
export class SimWallet {
  #counter: number
  #prev: Uint8Array

  private constructor(
    readonly id: string,
    private readonly secretKey: Uint8Array,
    readonly cert: ReturnType<typeof decodeWalletCertificate>,
  ) {
    this.#counter = cert.counterBase
    this.#prev = chainStart(c, cert)
  }

  /** Register, credit `purse` minor units and load them all into an offline purse. */
  static async create(operator: Api, purse: number, perPaymentLimit: number): Promise<SimWallet> {
    const keys = generateSigningKeyPair(c)
    const phone = `+49151${String(randomInt(0, 1e8)).padStart(8, '0')}`
    const r = await operator.post('/v1/wallets', {
      publicKey: Buffer.from(keys.publicKey).toString('base64url'),
      phone,
      currency: 'EUR',
    })
    const id = r.wallet.id as string
    await operator.post(`/v1/wallets/${id}/credit`, { amount: purse, ref: `load-${id}` })
    const own = new Api(operator.baseUrl, r.apiKey.key as string)
    const p = await own.post(`/v1/wallets/${id}/purses`, { amount: purse, perPaymentLimit })
    const cert = decodeWalletCertificate(new Uint8Array(Buffer.from(p.certificate as string, 'base64url')))
    return new SimWallet(id, keys.secretKey, cert)
  }

  /** Sign the next payment of the chain. */
  pay(merchantId: string, deviceId: string, amount: number): PaymentToken {
    const token = signToken(c, this.secretKey, this.cert, {
      txId: uuidv7(c),
      merchantId,
      deviceId,
      amount,
      counter: ++this.#counter,
      prevHash: this.#prev,
      walletTime: Math.floor(Date.now() / 1000),
    })
    this.#prev = tokenHash(c, token)
    return token
  }
}
