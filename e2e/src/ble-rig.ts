/**
 * Bluetooth LE for the local system, with no adapter: the testkit's virtual radio in this process, the box's
 * real bleno binding on it (this process's HCI socket replaced by a virtual one), and each BLE customer's
 * wallet in a child process running the real wallet core over the real noble — the wallet peer of the BLE
 * payment tests (wallet-sdk/test/ble-payment.test.ts). bleno and noble are process-wide singletons, which is
 * why a wallet cannot share the box's process.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ble } from '@opg/node-runtime'
import { deviceTag } from '@opg/protocol'
import {
  installVirtualHci,
  type PeerProcess,
  spawnPeer,
  type VirtualHciInstallation,
  VirtualRadio,
} from '@opg/testkit/virtual-hci/index.js'
import type { Api } from './api.js'

const WALLET_PEER = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../wallet-sdk/test/ble-payment.test.ts',
)

/** What the wallet peer answers to `pay`. */
export interface BlePayResult {
  txId?: string
  receipt?: Uint8Array
  error?: { name: string; code?: string; remoteCode?: string; causeCode?: string }
}

/** A customer whose wallet lives in a BLE-capable child process. */
export interface BleCustomer {
  name: string
  phone: string
  walletId: string
  /** The bridge with this wallet's own API key. */
  api: Api
  pay(o: { sticker: string; deviceId: string; amount: number }): Promise<BlePayResult>
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')

export class BleRig {
  readonly radio = new VirtualRadio({})
  #vhci: VirtualHciInstallation | undefined
  readonly #peers: PeerProcess[] = []

  /** Start the radio and put this process's HCI socket on it. Must run before anything loads bleno. */
  async start(): Promise<void> {
    await this.radio.start()
    this.#vhci = installVirtualHci({ radioPath: this.radio.path, address: 'b0:0c:00:00:00:01', name: 'box' })
  }

  /** The box's BLE binding: bleno, advertising `OPG <device tag>`. */
  boxBinding(deviceId: string, onError?: (err: Error) => void): ble.BleBinding {
    return new ble.BlenoBleBinding({ deviceTag: deviceTag(deviceId), ...(onError ? { onError } : {}) })
  }

  /** Wait until the box advertises. */
  async boxAdvertising(deviceId: string): Promise<void> {
    const name = `OPG ${deviceTag(deviceId)}`
    await this.radio.waitFor((cs) => cs.some((x) => x.advertising && x.localName === name))
  }

  /**
   * A customer with a wallet in a child process: registered with the bridge (operator key), topped up by
   * card, holding a purse the bridge certified.
   */
  async customer(o: {
    operator: Api
    name: string
    phone: string
    currency: string
    topUp: number
    purse: { amount: number; limit: number }
  }): Promise<BleCustomer> {
    const peer = spawnPeer({ file: WALLET_PEER, role: 'wallet', radioPath: this.radio.path })
    this.#peers.push(peer)
    const keys = (await o.operator.get('/v1/issuer/keys')).keys as { publicKey: string }[]
    const issuerPublic = new Uint8Array(Buffer.from(keys[0]!.publicKey, 'base64url'))
    const { publicKey } = await peer.call<{ publicKey: Uint8Array }>('init', { issuerPublic })
    const reg = await o.operator.post('/v1/wallets', { publicKey: b64u(publicKey), phone: o.phone })
    const api = o.operator.as(reg.apiKey.key)
    const walletId: string = reg.wallet.id
    await api.post(`/v1/wallets/${walletId}/topups`, {
      amount: o.topUp,
      currency: o.currency,
      cardToken: 'tok_visa',
      idempotencyKey: `topup-${walletId}`,
    })
    const purse = await api.post(`/v1/wallets/${walletId}/purses`, {
      amount: o.purse.amount,
      perPaymentLimit: o.purse.limit,
    })
    await peer.call('installPurse', { cert: new Uint8Array(Buffer.from(purse.certificate, 'base64url')) })
    return {
      name: o.name,
      phone: o.phone,
      walletId,
      api,
      pay: ({ sticker, deviceId, amount }) =>
        peer.call<BlePayResult>('pay', { tag: deviceTag(deviceId), sticker, amount }, 40_000),
    }
  }

  /** Stop the wallet children, the virtual sockets and the radio (after the box has stopped). */
  async stop(): Promise<void> {
    await Promise.all(this.#peers.map((p) => p.stop()))
    this.#vhci?.close()
    await this.radio.stop()
  }
}
