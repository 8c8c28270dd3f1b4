// The README's first-launch flow over a store that answers `null` for a missing key (AsyncStorage,
// localStorage, SharedPreferences wrappers): no wallet yet, create one, open it again.
import { nodeBackend } from '@opg/protocol/node'
import t from 'tap'
import { Wallet, type WalletStorage } from '../src/index.js'

function nullStore(): WalletStorage & { data: Map<string, string> } {
  const data = new Map<string, string>()
  return {
    data,
    get: async (k) => data.get(k) ?? null,
    set: async (k, v) => {
      data.set(k, v)
    },
    delete: async (k) => {
      data.delete(k)
    },
  }
}

t.test('a store that returns null for a missing key', async (t) => {
  const storage = nullStore()
  t.equal(await Wallet.exists(storage), false, 'null means nothing stored')
  await t.rejects(Wallet.open({ crypto: nodeBackend, storage }), { code: 'no_wallet' })
  const created = await Wallet.create({ crypto: nodeBackend, storage })
  t.equal(await Wallet.exists(storage), true)
  const opened = await Wallet.open({ crypto: nodeBackend, storage })
  t.same(opened.publicKey, created.publicKey, 'the same wallet on the next launch')
})
