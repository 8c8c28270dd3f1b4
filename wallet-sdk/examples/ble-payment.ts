/**
 * Runnable next to a box with Bluetooth: `npx tsx --conditions=@opg/source examples/ble-payment.ts 'OPGM:…' 1250` (from wallet-sdk/).
 * Pays over BLE: the box proves it holds the key certified on its sticker, the token is bound to the
 * session challenge, and the box answers with a signed receipt. On a phone, implement BleMessageChannel
 * over the platform's BLE API instead of openBleChannel (noble).
 */
import { payOverBle, WalletError } from '@opg/wallet-sdk'
import { openBleChannel, openFileWallet } from '@opg/wallet-sdk/node'

const [sticker, amount] = process.argv.slice(2)
if (!sticker || !amount) {
  console.log(
    "usage: npx tsx --conditions=@opg/source examples/ble-payment.ts 'OPGM:…' AMOUNT   (uses the CLI's wallet)",
  )
  process.exit(0)
}
// The wallet the CLI keeps (opg-wallet create / load-purse), unlocked with the same passphrase.
const { wallet } = await openFileWallet({
  dir: process.env.OPG_WALLET_DIR ?? `${process.env.HOME}/.opg-wallet`,
  key: { passphrase: process.env.OPG_WALLET_PASSPHRASE ?? '' },
})
try {
  const target = wallet.readSticker(sticker)
  const { payment, receipt } = await payOverBle(wallet, openBleChannel(target), {
    to: target,
    amount: Number(amount),
  })
  console.log(
    `paid ${payment.amount} ${payment.currency}; receipt at ${new Date(receipt.acceptedAt * 1000).toISOString()}`,
  )
} catch (err) {
  if (err instanceof WalletError) console.log(`payment failed: ${err.code} ${err.remoteCode ?? ''}`)
  else throw err
}
