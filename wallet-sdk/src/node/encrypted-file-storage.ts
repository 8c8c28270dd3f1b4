/**
 * WalletStorage for Node: one file per key in a state directory, each encrypted with AES-128-GCM under a key
 * derived from a passphrase (scrypt) or read from a key file, and made durable with write-to-temp, fsync,
 * rename, fsync(dir) — so `set` resolves only once the value survives a power cut, which is what the wallet's
 * write-ahead counter rule needs.
 *
 * Layout: `store.json` (format, KDF salt and parameters, a key check value) and `<key>.opgw` records:
 * version byte 0x01 | 12-byte nonce | ciphertext || 16-byte tag, with the key name as associated data so one
 * record cannot be swapped for another.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { WalletError } from '../core/errors.js'
import type { WalletStorage } from '../core/storage.js'

const RECORD_VERSION = 0x01
const NONCE_LEN = 12
const TAG_LEN = 16
const KEY_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
const CHECK_PLAINTEXT = 'opg-wallet key check v1'

/** How the store's 16-byte AES key is obtained. */
export type StoreKeySource =
  | { passphrase: string; scryptCost?: number }
  | { keyFile: string }
  | { key: Uint8Array }

interface StoreHeader {
  format: 'opg-wallet-store/1'
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number } | { name: 'key' }
  check: string
}

/** Default scrypt cost (N = 2^15, r = 8, p = 1: 32 MiB, a fraction of a second) — slow enough to hurt guessing. */
export const DEFAULT_SCRYPT_COST = 2 ** 15

/**
 * Encrypted, fsynced file storage. `open()` creates the directory and header on first use, or checks the
 * passphrase against the header's key check value (throws WalletError 'bad_passphrase').
 */
export class EncryptedFileStorage implements WalletStorage {
  readonly dir: string
  readonly #source: StoreKeySource
  #key: Buffer | undefined

  constructor(dir: string, source: StoreKeySource) {
    this.dir = dir
    this.#source = source
  }

  /** Create or unlock the store. Must be called before get/set/delete. */
  async open(): Promise<this> {
    const made = await mkdir(this.dir, { recursive: true, mode: 0o700 })
    // A new directory's name survives a power cut only once its parent is fsynced (each level created).
    if (made !== undefined) {
      const levels: string[] = []
      for (let p = this.dir; p.length >= made.length; p = dirname(p)) levels.push(dirname(p))
      for (const d of levels.reverse()) await fsyncDir(d)
    }
    await removeStaleTemps(this.dir)
    const headerPath = join(this.dir, 'store.json')
    const existing = await readText(headerPath)
    if (existing === undefined) {
      const { key, kdf } = await this.#newKey()
      const header: StoreHeader = {
        format: 'opg-wallet-store/1',
        kdf,
        check: seal(key, 'store.json', Buffer.from(CHECK_PLAINTEXT)).toString('base64'),
      }
      await writeDurably(this.dir, 'store.json', Buffer.from(`${JSON.stringify(header, null, 2)}\n`))
      this.#key = key
      return this
    }
    let header: StoreHeader
    try {
      header = JSON.parse(existing) as StoreHeader
    } catch (cause) {
      throw new WalletError('storage', 'store.json is not valid JSON', { cause })
    }
    if (header.format !== 'opg-wallet-store/1') throw new WalletError('storage', 'unknown store format')
    const key = await this.#existingKey(header)
    try {
      unseal(key, 'store.json', Buffer.from(header.check, 'base64'))
    } catch (cause) {
      throw new WalletError('bad_passphrase', 'wrong passphrase or key file for this wallet', { cause })
    }
    this.#key = key
    return this
  }

  async get(name: string): Promise<string | undefined> {
    const key = this.#requireKey()
    const raw = await readBytes(join(this.dir, fileName(name)))
    if (raw === undefined) return undefined
    try {
      return unseal(key, name, raw).toString('utf8')
    } catch (cause) {
      throw new WalletError('storage', `record ${name} does not decrypt (tampered or corrupted)`, { cause })
    }
  }

  async set(name: string, value: string): Promise<void> {
    const key = this.#requireKey()
    await writeDurably(this.dir, fileName(name), seal(key, name, Buffer.from(value, 'utf8')))
  }

  async delete(name: string): Promise<void> {
    await rm(join(this.dir, fileName(name)), { force: true })
    await fsyncDir(this.dir)
  }

  #requireKey(): Buffer {
    if (!this.#key) throw new WalletError('storage', 'EncryptedFileStorage used before open()')
    return this.#key
  }

  async #newKey(): Promise<{ key: Buffer; kdf: StoreHeader['kdf'] }> {
    const s = this.#source
    if ('passphrase' in s) {
      const salt = randomBytes(16)
      const N = s.scryptCost ?? DEFAULT_SCRYPT_COST
      const key = await scryptKey(s.passphrase, salt, N)
      return { key, kdf: { name: 'scrypt', salt: salt.toString('base64'), N, r: 8, p: 1 } }
    }
    return { key: await this.#fixedKey(), kdf: { name: 'key' } }
  }

  async #existingKey(header: StoreHeader): Promise<Buffer> {
    const s = this.#source
    if (header.kdf.name === 'scrypt') {
      if (!('passphrase' in s))
        throw new WalletError('bad_passphrase', 'this store is locked with a passphrase')
      return scryptKey(s.passphrase, Buffer.from(header.kdf.salt, 'base64'), header.kdf.N)
    }
    if ('passphrase' in s) throw new WalletError('bad_passphrase', 'this store is locked with a key file')
    return this.#fixedKey()
  }

  async #fixedKey(): Promise<Buffer> {
    const s = this.#source
    if ('key' in s) return checkKey(Buffer.from(s.key))
    if ('keyFile' in s) {
      const raw = await readBytes(s.keyFile)
      if (raw === undefined) throw new WalletError('bad_passphrase', `key file ${s.keyFile} does not exist`)
      // Accept the raw 16 bytes or 32 hex characters (what `createKeyFile` writes).
      const text = raw.toString('utf8').trim()
      return checkKey(/^[0-9a-f]{32}$/i.test(text) ? Buffer.from(text, 'hex') : raw)
    }
    throw new WalletError('storage', 'no key source')
  }
}

/** Write a fresh random 16-byte key (as hex) to `path` with mode 0600, durably. */
export async function createKeyFile(path: string): Promise<void> {
  const fh = await open(path, 'wx', 0o600)
  try {
    await fh.writeFile(`${randomBytes(16).toString('hex')}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

function checkKey(key: Buffer): Buffer {
  if (key.length !== 16) throw new WalletError('bad_passphrase', 'the store key must be 16 bytes (AES-128)')
  return key
}

function fileName(name: string): string {
  if (!KEY_NAME.test(name)) throw new WalletError('storage', `invalid storage key ${JSON.stringify(name)}`)
  return `${name}.opgw`
}

function scryptKey(passphrase: string, salt: Buffer, N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128·N·r bytes; leave headroom above Node's 32 MiB default.
    scrypt(
      passphrase.normalize('NFC'),
      salt,
      16,
      { N, r: 8, p: 1, maxmem: 256 * N * 8 + 1024 * 1024 },
      (e, k) => (e ? reject(new WalletError('storage', 'scrypt failed', { cause: e })) : resolve(k)),
    )
  })
}

function seal(key: Buffer, name: string, plaintext: Buffer): Buffer {
  const nonce = randomBytes(NONCE_LEN)
  const cipher = createCipheriv('aes-128-gcm', key, nonce)
  cipher.setAAD(Buffer.from(`opg-wallet/1/${name}`))
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.of(RECORD_VERSION), nonce, ct, cipher.getAuthTag()])
}

function unseal(key: Buffer, name: string, record: Buffer): Buffer {
  if (record.length < 1 + NONCE_LEN + TAG_LEN || record[0] !== RECORD_VERSION) throw new Error('bad record')
  const nonce = record.subarray(1, 1 + NONCE_LEN)
  const ct = record.subarray(1 + NONCE_LEN, record.length - TAG_LEN)
  const decipher = createDecipheriv('aes-128-gcm', key, nonce)
  decipher.setAAD(Buffer.from(`opg-wallet/1/${name}`))
  decipher.setAuthTag(record.subarray(record.length - TAG_LEN))
  return Buffer.concat([decipher.update(ct), decipher.final()])
}

async function readBytes(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new WalletError('storage', `cannot read ${path}`, { cause: err })
  }
}

async function readText(path: string): Promise<string | undefined> {
  return (await readBytes(path))?.toString('utf8')
}

/** Temp file + fsync + rename + fsync(dir): after this resolves the new content survives a power cut. */
async function writeDurably(dir: string, name: string, data: Buffer): Promise<void> {
  const tmp = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fh = await open(tmp, 'w', 0o600)
    try {
      await fh.writeFile(data)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(dir, name))
    await fsyncDir(dir)
  } catch (err) {
    await rm(tmp, { force: true })
    throw new WalletError('storage', `cannot write ${name}`, { cause: err })
  }
}

/**
 * A crash between writing a temp file and renaming it leaves `.<name>.<random>.tmp` behind. The rename is
 * the commit point, so a temp file is never the live copy of anything: remove them all at open.
 */
async function removeStaleTemps(dir: string): Promise<void> {
  const stale = (await readdir(dir)).filter((n) => n.startsWith('.') && n.endsWith('.tmp'))
  for (const n of stale) await rm(join(dir, n), { force: true })
  if (stale.length > 0) await fsyncDir(dir)
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
