/**
 * The WalletStorage contract, written once and run against every implementation (MemoryStorage,
 * EncryptedFileStorage): what the wallet relies on — round trips, replace, delete, missing keys, and the
 * full state of a real wallet surviving a reopen.
 */
import { nodeBackend } from '@opg/protocol/node'
import type { Test } from 'tap'
import type { WalletStorage } from '../../src/core/storage.js'
import { Wallet } from '../../src/core/wallet.js'
import { world } from './fixtures.js'

export function storageContract(t: Test, name: string, make: (t: Test) => Promise<WalletStorage>): void {
  t.test(`${name}: the WalletStorage contract`, async (t) => {
    const s = await make(t)
    t.equal(await s.get('wallet'), undefined, 'missing key → undefined')
    await s.set('wallet', 'first')
    await s.set('wallet', 'second ✓ ünïcode')
    t.equal(await s.get('wallet'), 'second ✓ ünïcode', 'set replaces, UTF-8 intact')
    const big = 'x'.repeat(300_000)
    await s.set('big', big)
    t.equal((await s.get('big'))?.length, big.length, 'large values')
    await s.delete('wallet')
    await s.delete('wallet')
    t.equal(await s.get('wallet'), undefined, 'delete (twice is fine)')

    const w = world(nodeBackend)
    const storage = await make(t)
    const wallet = await Wallet.create({
      crypto: nodeBackend,
      storage,
      now: w.clock.now,
      issuerKeys: w.keyring,
    })
    await wallet.installPurse(w.issuePurse(wallet.publicKey))
    const p = await wallet.pay({ to: w.box.sticker, amount: 5 })
    const again = await Wallet.open({ crypto: nodeBackend, storage, now: w.clock.now })
    t.same(again.log(), wallet.log(), 'a wallet reopens with its log')
    t.same(again.purse(), wallet.purse())
    t.equal(again.payment(p.txId).token.counter, p.counter)
  })
}
