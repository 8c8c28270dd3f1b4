/**
 * @opg/wallet-sdk/node — Node adapters for the wallet: the encrypted, fsynced file store, QR images, the
 * node:crypto backend, and a one-call way to open a wallet kept in a directory.
 */
import type { CryptoBackend } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import type { Signer } from '../core/signer.js'
import { Wallet } from '../core/wallet.js'
import { EncryptedFileStorage, type StoreKeySource } from './encrypted-file-storage.js'

export { nodeBackend } from '@opg/protocol/node'
export { type BleChannelOptions, openBleChannel } from './ble-channel.js'
export {
  createKeyFile,
  DEFAULT_SCRYPT_COST,
  EncryptedFileStorage,
  type StoreKeySource,
} from './encrypted-file-storage.js'
export { QR_ECC, qrPng, qrSvg, qrTerminal, qrVersion, writeQrPng } from './qr-render.js'

/** Options of openFileWallet. */
export interface FileWalletOptions {
  /** State directory (created on first use, mode 0700). */
  dir: string
  key: StoreKeySource
  /**
   * true: create the wallet when the directory holds none; 'new': create it and refuse (WalletError
   * 'wallet_exists') if one is there; false (default): open only (WalletError 'no_wallet').
   */
  create?: boolean | 'new'
  crypto?: CryptoBackend
  signer?: Signer
  now?: () => number
}

/** Open (or create) a wallet whose state lives encrypted in `dir`. */
export async function openFileWallet(
  o: FileWalletOptions,
): Promise<{ wallet: Wallet; storage: EncryptedFileStorage }> {
  const storage = await new EncryptedFileStorage(o.dir, o.key).open()
  const base = {
    crypto: o.crypto ?? nodeBackend,
    storage,
    ...(o.signer ? { signer: o.signer } : {}),
    ...(o.now ? { now: o.now } : {}),
  }
  const create = o.create === 'new' || (o.create === true && !(await Wallet.exists(storage)))
  const wallet = create ? await Wallet.create(base) : await Wallet.open(base)
  return { wallet, storage }
}
