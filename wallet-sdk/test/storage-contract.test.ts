// One WalletStorage contract, run on each implementation.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { MemoryStorage } from '../src/core/storage.js'
import { EncryptedFileStorage } from '../src/node/encrypted-file-storage.js'
import { storageContract } from './support/storage-contract.js'

storageContract(t, 'MemoryStorage', async () => new MemoryStorage())

// One directory per store, so each `make` is a fresh, empty store.
storageContract(t, 'EncryptedFileStorage', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-wallet-contract-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return new EncryptedFileStorage(dir, { passphrase: 'contract', scryptCost: 2 ** 10 }).open()
})
