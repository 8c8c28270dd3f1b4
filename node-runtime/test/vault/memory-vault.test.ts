import t from 'tap'
import { MemoryVault } from '../../src/vault/index.js'
import { vaultContract } from './contract.js'

t.test('in-memory vault meets the vault contract', (t) =>
  vaultContract(t, { open: () => MemoryVault.open() }),
)
