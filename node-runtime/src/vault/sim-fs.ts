/**
 * An in-memory `FsLike` that models what survives a power cut on flash: file data is durable only after
 * fdatasync/fsync, names (create, rename, unlink) only after the directory is fsynced. `cutAfter(n)` makes
 * the n-th next mutating call fail as the power goes; `crash(rng)` returns the file system as it would be
 * found on the next boot — unsynced appends dropped, kept or torn at a random byte, sometimes zero-filled.
 *
 * Flash does not write bytes, it programs blocks (pages): a write that lands in a partly filled block
 * rewrites the whole block, and a power cut during it can leave the whole block damaged — erased (0xff) or
 * garbage — including bytes that an earlier fdatasync had made durable. `crash` models that for the block
 * of `blockBytes` where the unsynced writes begin. `lieAboutFlushes(p, rng)` models a card that
 * acknowledges a flush it has not done: each flush from then on persists only with probability `p`.
 * Directories themselves are taken as durable once made (the vault creates its directory once).
 */
import { dirname } from 'node:path'
import type { FileHandleLike, FsLike, OpenMode } from './fs.js'

/** Thrown by every call once the simulated power is gone. */
export class PowerCutError extends Error {
  override readonly name = 'PowerCutError'
  readonly code = 'EPOWERCUT'
}

/** A small seeded PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Inode {
  buf = new Uint8Array(256)
  len = 0
  /** Durable bytes are buf[0, durableLen) while the file only grew since the last sync (no copy needed). */
  durableLen = 0
  /** Set once the file changed below durableLen: the durable bytes, saved before the change. */
  durableCopy: Uint8Array | undefined
  /** True while the volatile content is the durable content plus appended bytes. */
  appendOnly = true
  /** Lowest offset written since the last sync (Infinity when none): where a rewrite of flash begins. */
  dirtyFrom = Number.POSITIVE_INFINITY

  content(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
  durable(): Uint8Array {
    return this.durableCopy ?? this.buf.subarray(0, this.durableLen)
  }
  #diverge(): void {
    if (!this.durableCopy) this.durableCopy = this.buf.slice(0, this.durableLen)
    this.appendOnly = false
  }
  writeAt(pos: number, data: Uint8Array): void {
    const end = pos + data.length
    if (pos < this.durableLen) this.#diverge()
    if (data.length > 0) this.dirtyFrom = Math.min(this.dirtyFrom, pos)
    if (end > this.buf.length) {
      const next = new Uint8Array(Math.max(end, this.buf.length * 2))
      next.set(this.content())
      this.buf = next
    }
    this.buf.set(data, pos)
    this.len = Math.max(this.len, end)
  }
  truncate(n: number): void {
    if (n < this.durableLen) this.#diverge()
    if (n > this.len) this.writeAt(this.len, new Uint8Array(n - this.len))
    this.len = n
  }
  persist(): void {
    this.dirtyFrom = Number.POSITIVE_INFINITY
    this.durableCopy = undefined
    this.durableLen = this.len
    this.appendOnly = true
  }
}

function notFound(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' })
}

/** Counts of the calls that cost time on real flash, for group-commit assertions. */
export interface SimFsCounters {
  writes: number
  datasyncs: number
  syncs: number
  dirSyncs: number
  renames: number
  /** Bytes handed to write calls (what the flash must program, before the file system's own overhead). */
  bytesWritten: number
}

export interface SimFsOptions {
  /** Flash block (page) size a torn write damages whole. Default 4096. */
  blockBytes?: number
}

/** See the module comment. Paths are POSIX. */
export class SimFs implements FsLike {
  readonly #names = new Map<string, Inode>()
  readonly #durableNames = new Map<string, Inode>()
  readonly #dirs = new Set<string>(['/'])
  #budget = Number.POSITIVE_INFINITY
  #dead = false
  /** Mutating calls made so far. */
  ops = 0
  readonly counters: SimFsCounters = {
    writes: 0,
    datasyncs: 0,
    syncs: 0,
    dirSyncs: 0,
    renames: 0,
    bytesWritten: 0,
  }
  readonly blockBytes: number
  #lie: { p: number; rng: () => number } | undefined

  constructor(opts: SimFsOptions = {}) {
    this.blockBytes = opts.blockBytes ?? 4096
  }

  /** From now on every flush is acknowledged but persists only with probability `p` (a lying card). */
  lieAboutFlushes(p: number, rng: () => number): void {
    this.#lie = { p, rng }
  }

  /** @internal a flush reached the card: persist unless the card lies this time. */
  _flush(inode: Inode): void {
    if (this.#lie && this.#lie.rng() >= this.#lie.p) return
    inode.persist()
  }

  /** Let `n` more mutating calls succeed; the next one fails and the power stays off. */
  cutAfter(n: number): void {
    this.#budget = n
  }
  get powerCut(): boolean {
    return this.#dead
  }

  #live(): void {
    if (this.#dead) throw new PowerCutError('power is off')
  }
  /** @internal true when the last failed call found the power already off. */
  _wasDeadBefore = false
  #mutate(): void {
    this._wasDeadBefore = this.#dead
    this.#live()
    if (this.#budget <= 0) {
      this.#dead = true
      throw new PowerCutError('power cut')
    }
    this.#budget--
    this.ops++
  }

  /** The file system as found after the power comes back. `rng` picks how much of each unsynced tail survived. */
  crash(rng: () => number): SimFs {
    const next = new SimFs({ blockBytes: this.blockBytes })
    for (const d of this.#dirs) next.#dirs.add(d)
    for (const [path, inode] of this.#durableNames) {
      const n = new Inode()
      const dirtyFrom = inode.dirtyFrom
      let data: Uint8Array
      if (inode.appendOnly) {
        const d = inode.durableLen
        const extra = inode.len - d
        const roll = rng()
        const keep = roll < 0.3 ? 0 : roll < 0.5 ? extra : Math.floor(rng() * (extra + 1))
        data = inode.buf.slice(0, d + keep)
        // The size may reach the disk before the data does: the torn part reads back as zeros.
        if (keep > 0 && rng() < 0.25) data.fill(0, d + Math.floor(rng() * keep))
      } else {
        data = rng() < 0.5 ? inode.durable().slice() : inode.content().slice()
      }
      if (Math.floor(dirtyFrom / this.blockBytes) * this.blockBytes < data.length && rng() < 0.5)
        data = this.#tear(data, dirtyFrom, rng)
      n.writeAt(0, data)
      n.persist()
      next.#names.set(path, n)
      next.#durableNames.set(path, n)
    }
    return next
  }

  /**
   * The power went while the block holding `from` was being programmed: from a random point in that block
   * to its end (or the file's end) the cells read erased (0xff) or as garbage — synced bytes included.
   */
  #tear(data: Uint8Array, from: number, rng: () => number): Uint8Array {
    const start = Math.floor(from / this.blockBytes) * this.blockBytes
    const end = Math.min(data.length, start + this.blockBytes)
    const at = start + Math.floor(rng() * (end - start))
    if (rng() < 0.5) data.fill(0xff, at, end)
    else for (let i = at; i < end; i++) data[i] = Math.floor(rng() * 256)
    return data
  }

  /** Current bytes of a file (tests read and tamper with these). */
  peek(path: string): Uint8Array {
    const inode = this.#names.get(path)
    if (!inode) throw notFound(path)
    return inode.content()
  }
  /** Overwrite bytes of a file as if it had been edited offline, durably. */
  poke(path: string, offset: number, bytes: Uint8Array): void {
    const inode = this.#names.get(path)
    if (!inode) throw notFound(path)
    inode.writeAt(offset, bytes)
    inode.persist()
  }
  /** Every file path, sorted. */
  paths(): string[] {
    return [...this.#names.keys()].sort()
  }

  async mkdir(path: string): Promise<void> {
    this.#live()
    let p = path
    while (!this.#dirs.has(p)) {
      this.#dirs.add(p)
      p = dirname(p)
    }
  }
  async readdir(path: string): Promise<string[]> {
    this.#live()
    if (!this.#dirs.has(path)) throw notFound(path)
    const out: string[] = []
    for (const p of this.#names.keys()) if (dirname(p) === path) out.push(p.slice(path.length + 1))
    for (const d of this.#dirs) if (d !== path && dirname(d) === path) out.push(d.slice(path.length + 1))
    return out.sort()
  }
  async readFile(path: string, into?: Uint8Array): Promise<Uint8Array> {
    this.#live()
    const inode = this.#names.get(path)
    if (!inode) throw notFound(path)
    const content = inode.content()
    if (into && into.length >= content.length) {
      into.set(content)
      return into.subarray(0, content.length)
    }
    return content.slice()
  }
  async open(path: string, mode: OpenMode): Promise<FileHandleLike> {
    let inode = this.#names.get(path)
    if (mode === 'read') {
      this.#live()
      if (!inode) throw notFound(path)
    } else {
      this.#mutate()
      if (!this.#dirs.has(dirname(path))) throw notFound(path)
      if (!inode) {
        inode = new Inode()
        this.#names.set(path, inode)
      } else if (mode === 'write') inode.truncate(0)
    }
    return new SimHandle(this, inode, mode)
  }
  async rename(from: string, to: string): Promise<void> {
    this.#mutate()
    const inode = this.#names.get(from)
    if (!inode) throw notFound(from)
    this.#names.delete(from)
    this.#names.set(to, inode)
    this.counters.renames++
  }
  async unlink(path: string): Promise<void> {
    this.#mutate()
    if (!this.#names.delete(path)) throw notFound(path)
  }
  async syncDir(path: string): Promise<void> {
    this.#mutate()
    this.counters.dirSyncs++
    for (const p of new Set([...this.#names.keys(), ...this.#durableNames.keys()])) {
      if (dirname(p) !== path) continue
      const inode = this.#names.get(p)
      if (inode) this.#durableNames.set(p, inode)
      else this.#durableNames.delete(p)
    }
  }

  /** @internal used by handles */
  _mutate(): void {
    this.#mutate()
  }
  /** @internal */
  _live(): void {
    this.#live()
  }
}

class SimHandle implements FileHandleLike {
  readonly #fs: SimFs
  readonly #inode: Inode
  readonly #mode: OpenMode
  #pos = 0
  constructor(fs: SimFs, inode: Inode, mode: OpenMode) {
    this.#fs = fs
    this.#inode = inode
    this.#mode = mode
  }
  async write(data: Uint8Array): Promise<void> {
    if (this.#mode === 'read') throw new Error('EBADF: handle is read-only')
    const at = this.#mode === 'write' ? this.#pos : this.#inode.len
    try {
      this.#fs._mutate()
    } catch (err) {
      // The cut came while the data sat in the page cache: it reached the file, not the flash.
      if (err instanceof PowerCutError && !this.#fs._wasDeadBefore) this.#inode.writeAt(at, data)
      throw err
    }
    this.#fs.counters.writes++
    this.#fs.counters.bytesWritten += data.length
    this.#inode.writeAt(at, data)
    this.#pos = at + data.length
    if (this.#mode === 'append-sync') {
      this.#fs.counters.datasyncs++
      this.#fs._flush(this.#inode)
    }
  }
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    if (this.#mode !== 'write' && this.#mode !== 'update-sync')
      throw new Error('EBADF: not a positional handle')
    try {
      this.#fs._mutate()
    } catch (err) {
      if (err instanceof PowerCutError && !this.#fs._wasDeadBefore) this.#inode.writeAt(position, data)
      throw err
    }
    this.#fs.counters.writes++
    this.#fs.counters.bytesWritten += data.length
    this.#inode.writeAt(position, data)
    if (this.#mode === 'update-sync') {
      this.#fs.counters.datasyncs++
      this.#fs._flush(this.#inode)
    }
  }
  async read(length: number, position: number): Promise<Uint8Array> {
    this.#fs._live()
    return this.#inode.content().slice(position, position + length)
  }
  async datasync(): Promise<void> {
    this.#fs._mutate()
    this.#fs.counters.datasyncs++
    this.#fs._flush(this.#inode)
  }
  async sync(): Promise<void> {
    this.#fs._mutate()
    this.#fs.counters.syncs++
    this.#fs._flush(this.#inode)
  }
  async truncate(length: number): Promise<void> {
    this.#fs._mutate()
    this.#inode.truncate(length)
  }
  async size(): Promise<number> {
    this.#fs._live()
    return this.#inode.len
  }
  async close(): Promise<void> {}
}
