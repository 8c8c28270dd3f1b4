/**
 * A customer with the wallet SDK as an app embeds it: the portable core over in-memory storage, registered
 * with the bridge, topped up by card, holding an offline purse. `clone()` copies the phone's storage — what a
 * fraudster does to spend one purse twice.
 */
import { randomUUID } from 'node:crypto'
import {
  BridgeClient,
  loadPurse,
  MemoryStorage,
  type PurseStatus,
  registerWallet,
  type SyncResult,
  sync,
  Wallet,
} from '@opg/wallet-sdk'
import { nodeBackend as c } from '@opg/wallet-sdk/node'
import { Api } from './api.js'

export class Customer {
  readonly name: string
  readonly phone: string
  readonly wallet: Wallet
  readonly storage: MemoryStorage
  readonly client: BridgeClient
  readonly api: Api

  private constructor(
    name: string,
    phone: string,
    wallet: Wallet,
    storage: MemoryStorage,
    client: BridgeClient,
  ) {
    this.name = name
    this.phone = phone
    this.wallet = wallet
    this.storage = storage
    this.client = client
    this.api = new Api(client.baseUrl, wallet.apiKey)
  }

  /** Create the wallet, register it with the bridge (operator key, as an app backend would). */
  static async register(
    httpUrl: string,
    operatorKey: string,
    name: string,
    phone: string,
  ): Promise<Customer> {
    const storage = new MemoryStorage()
    const wallet = await Wallet.create({ crypto: c, storage })
    const client = await registerWallet(wallet, new BridgeClient({ baseUrl: httpUrl, apiKey: operatorKey }), {
      phone,
    })
    return new Customer(name, phone, wallet, storage, client)
  }

  get walletId(): string {
    return this.wallet.walletId!
  }

  /** Card top-up through the sandbox card provider; returns the online payment. */
  async topUpByCard(amount: number, currency: string, cardToken = 'tok_visa') {
    return this.api.post(`/v1/wallets/${this.walletId}/topups`, {
      amount,
      currency,
      cardToken,
      idempotencyKey: `topup-${randomUUID()}`,
    })
  }

  /** Escrow part of the balance into an offline purse. */
  loadPurse(amount: number, perPaymentLimit: number): Promise<PurseStatus> {
    return loadPurse(this.wallet, this.client, { amount, perPaymentLimit })
  }

  /** Upload the signed log ("the payer synced"). */
  sync(): Promise<SyncResult> {
    return sync(this.wallet, this.client)
  }

  /** A second wallet holding a byte-for-byte copy of this one's storage. */
  async clone(name: string): Promise<Customer> {
    const storage = new MemoryStorage()
    for (const k of this.storage.keys()) {
      const v = await this.storage.get(k)
      if (v !== undefined) await storage.set(k, v)
    }
    const wallet = await Wallet.open({ crypto: c, storage })
    return new Customer(name, this.phone, wallet, storage, this.client)
  }
}
