/**
 * Runnable against a bridge: `OPG_BRIDGE_URL=… OPG_OPERATOR_KEY=… npx tsx --conditions=@opg/source examples/online-sync.ts`.
 * The online steps: register (operator key — in an app, your backend does this), top up, load a purse,
 * and after paying offline, sync the signed log and read the statuses.
 */
import {
  BridgeClient,
  history,
  loadPurse,
  MemoryStorage,
  registerWallet,
  sync,
  Wallet,
} from '@opg/wallet-sdk'
import { nodeBackend } from '@opg/wallet-sdk/node'

const baseUrl = process.env.OPG_BRIDGE_URL
const operatorKey = process.env.OPG_OPERATOR_KEY
if (!baseUrl || !operatorKey) {
  console.log('set OPG_BRIDGE_URL and OPG_OPERATOR_KEY to run this example against a bridge')
  process.exit(0)
}

const wallet = await Wallet.create({ crypto: nodeBackend, storage: new MemoryStorage() })
const operator = new BridgeClient({ baseUrl, apiKey: operatorKey })
const client = await registerWallet(wallet, operator, { phone: '+4915112345678' }) // saves id, API key, issuer keys
await operator.topUp(wallet.walletId!, { amount: 20000, ref: 'example top-up' })
const purse = await loadPurse(wallet, client, { amount: 10000, perPaymentLimit: 5000 })
console.log(
  `purse ${purse.remaining} ${purse.currency} until ${new Date(purse.expiresAt * 1000).toISOString()}`,
)

// … offline payments with wallet.pay(…) …

const { uploaded } = await sync(wallet, client) // "the payer synced": held payments confirm
console.log(`uploaded ${uploaded}`)
for (const p of await history(wallet, client)) console.log(p.txId, p.amount, p.status)
console.log(await client.balance(wallet.walletId!))
