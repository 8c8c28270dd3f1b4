/** The vault: the durable, encrypted store of accepted payments, and the node's small encrypted state. */
export { decodeRecord, encodeRecord, validateRecord } from './codec.js'
export { FileVault, type FileVaultOptions } from './file-vault.js'
export { type FileHandleLike, type FsLike, nodeFs, type OpenMode, writeFileDurably } from './fs.js'
export { MemoryVault } from './memory-vault.js'
export { PowerCutError, SimFs, type SimFsCounters, seededRandom } from './sim-fs.js'
export {
  EncryptedJsonAdapter,
  type NodeState,
  openStateStore,
  type StateStoreOptions,
} from './state-store.js'
export * from './types.js'
