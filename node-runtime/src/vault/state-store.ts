/**
 * Small mutable node state (config overrides, sync cursor, trusted time, revocation list, exposure counters)
 * in lowdb, through an adapter that encrypts the JSON with AES-128-GCM and writes it durably: temp file,
 * fsync, rename, fsync of the directory (lowdb's own writer renames without any fsync). Reads authenticate:
 * a tampered or foreign file is an error, not an empty state.
 */
import { basename, dirname } from 'node:path'
import { nodeBackend as c } from '@opg/protocol/node'
import { Low } from 'lowdb'
import { type FsLike, isNotFound, nodeFs, writeFileDurably } from './fs.js'
import { VaultError } from './types.js'

const MAGIC = Buffer.from('OPGS1')

/**
 * lowdb Adapter: JSON ⇄ AES-128-GCM file. The file name is bound into the associated data, so one store's
 * file cannot be swapped for another's. Writes are serialised; a write requested while one is in flight is
 * coalesced into the next (the last state wins, as with lowdb's stock writer).
 */
export class EncryptedJsonAdapter<T> {
  readonly #fs: FsLike
  readonly #path: string
  readonly #key: Buffer
  readonly #aad: Buffer
  #inflight: Promise<void> | undefined
  #next: { data: T; waiters: { resolve: () => void; reject: (e: unknown) => void }[] } | undefined

  constructor(path: string, key: Uint8Array, fs: FsLike = nodeFs) {
    if (!(key instanceof Uint8Array) || key.length !== 16) throw new RangeError('state key must be 16 bytes')
    this.#fs = fs
    this.#path = path
    this.#key = Buffer.from(key)
    this.#aad = Buffer.concat([MAGIC, Buffer.from(basename(path))])
  }

  async read(): Promise<T | null> {
    let bytes: Buffer
    try {
      bytes = Buffer.from(await this.#fs.readFile(this.#path))
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
    if (bytes.length < MAGIC.length + 12 + 16 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new VaultError('corrupt', `state file ${this.#path} is not a state file`)
    }
    const nonce = bytes.subarray(MAGIC.length, MAGIC.length + 12)
    let plain: Uint8Array
    try {
      plain = c.aesGcmOpen(this.#key, nonce, bytes.subarray(MAGIC.length + 12), this.#aad)
    } catch (err) {
      throw new VaultError('corrupt', `state file ${this.#path} does not authenticate`, { cause: err })
    }
    return JSON.parse(Buffer.from(plain).toString('utf8')) as T
  }

  write(data: T): Promise<void> {
    return new Promise((resolve, reject) => {
      // Serialise now: lowdb hands over its live object, which may change before the write starts.
      const snapshot = JSON.parse(JSON.stringify(data)) as T
      if (this.#next) {
        this.#next.data = snapshot
        this.#next.waiters.push({ resolve, reject })
      } else this.#next = { data: snapshot, waiters: [{ resolve, reject }] }
      if (!this.#inflight) this.#inflight = this.#pump()
    })
  }

  async #pump(): Promise<void> {
    while (this.#next) {
      const { data, waiters } = this.#next
      this.#next = undefined
      try {
        await writeFileDurably(this.#fs, this.#path, this.#seal(data))
        for (const w of waiters) w.resolve()
      } catch (err) {
        for (const w of waiters) w.reject(err)
      }
    }
    this.#inflight = undefined
  }

  #seal(data: T): Buffer {
    const nonce = c.randomBytes(12)
    const sealed = c.aesGcmSeal(this.#key, nonce, Buffer.from(JSON.stringify(data), 'utf8'), this.#aad)
    return Buffer.concat([MAGIC, nonce, sealed])
  }
}

/** The node's small state; every section optional so each owner adds its own. */
export interface NodeState {
  version: 1
  /** Trusted clock (src/clock): last time from the bridge and the high-water mark. */
  clock?: { lastTrustedMs?: number; highWaterMs?: number }
  /** Everything else is owned by other modules (config overrides, sync cursor, revocations, exposure). */
  [section: string]: unknown
}

export interface StateStoreOptions<T> {
  /** Directory to keep the file in (created if absent). */
  dir: string
  /** 16-byte key: the device's 'state' purpose key, deriveKey(c, deviceSecret, 'state', deviceId). */
  key: Uint8Array
  defaults: T
  fs?: FsLike
  /** File name; default 'state.bin'. */
  file?: string
}

/**
 * Open the encrypted, fsynced lowdb store and read it. `db.data` starts as a copy of `defaults` when no file
 * exists; `await db.write()` (or `db.update(fn)`) makes a change durable.
 */
export async function openStateStore<T extends object>(opts: StateStoreOptions<T>): Promise<Low<T>> {
  const fs = opts.fs ?? nodeFs
  await fs.mkdir(opts.dir)
  const path = `${opts.dir.replace(/\/$/, '')}/${opts.file ?? 'state.bin'}`
  if (dirname(path) !== opts.dir.replace(/\/$/, '')) throw new RangeError('file must be a plain name')
  const db = new Low<T>(new EncryptedJsonAdapter<T>(path, opts.key, fs), structuredClone(opts.defaults))
  await db.read()
  return db
}
