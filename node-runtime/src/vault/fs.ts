/**
 * The file layer the vault and the state store write through: just the calls durability needs (append,
 * fdatasync, rename, directory fsync). `nodeFs` is the real one; `SimFs` (sim-fs.ts) simulates power cuts.
 */
import { constants } from 'node:fs'
import { type FileHandle, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** An open file. Handles opened with 'append' always write at the end. */
export interface FileHandleLike {
  /** Write all of `data` (at the end for 'append' handles, from the current position for 'write'). */
  write(data: Uint8Array): Promise<void>
  /** Write all of `data` at `position` (not for 'append' handles); durable on return for 'update-sync'. */
  writeAt(data: Uint8Array, position: number): Promise<void>
  /** Read up to `length` bytes at `position`; shorter at end of file. */
  read(length: number, position: number): Promise<Uint8Array>
  /** fdatasync(2): the data (and the size) are durable. */
  datasync(): Promise<void>
  /** fsync(2). */
  sync(): Promise<void>
  truncate(length: number): Promise<void>
  size(): Promise<number>
  close(): Promise<void>
}

/**
 * 'append-sync' opens with O_APPEND|O_DSYNC: each write returns only once its data (and the file size) are
 * durable, like write + fdatasync but in one system call. 'update-sync' opens read-write with O_DSYNC,
 * creating the file but never truncating it, for fixed-slot files rewritten in place (the high-water mark).
 */
export type OpenMode = 'append' | 'append-sync' | 'read' | 'write' | 'update-sync'

/** The file system as the vault uses it. Errors carry node's `code` (ENOENT...). */
export interface FsLike {
  /** mkdir -p */
  mkdir(path: string): Promise<void>
  readdir(path: string): Promise<string[]>
  /**
   * The whole file. With `into` at least the file's size, the bytes are read into it and a view of it is
   * returned, so a caller reading many same-sized files (the journal's segments at start-up) reuses one buffer
   * instead of allocating, faulting in and returning a fresh one each time.
   */
  readFile(path: string, into?: Uint8Array): Promise<Uint8Array>
  /** 'append' and 'append-sync' create if absent; 'write' creates or truncates; 'read' must exist. */
  open(path: string, mode: OpenMode): Promise<FileHandleLike>
  rename(from: string, to: string): Promise<void>
  unlink(path: string): Promise<void>
  /** fsync the directory so created, renamed and removed names are durable. */
  syncDir(path: string): Promise<void>
}

class NodeHandle implements FileHandleLike {
  readonly #h: FileHandle
  constructor(h: FileHandle) {
    this.#h = h
  }
  async write(data: Uint8Array): Promise<void> {
    let off = 0
    while (off < data.length) {
      const { bytesWritten } = await this.#h.write(data, off, data.length - off)
      off += bytesWritten
    }
  }
  async writeAt(data: Uint8Array, position: number): Promise<void> {
    let off = 0
    while (off < data.length) {
      const { bytesWritten } = await this.#h.write(data, off, data.length - off, position + off)
      off += bytesWritten
    }
  }
  async read(length: number, position: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length)
    let got = 0
    while (got < length) {
      const { bytesRead } = await this.#h.read(buf, got, length - got, position + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return buf.subarray(0, got)
  }
  datasync(): Promise<void> {
    return this.#h.datasync()
  }
  sync(): Promise<void> {
    return this.#h.sync()
  }
  truncate(length: number): Promise<void> {
    return this.#h.truncate(length)
  }
  async size(): Promise<number> {
    return (await this.#h.stat()).size
  }
  close(): Promise<void> {
    return this.#h.close()
  }
}

const FLAGS: Record<OpenMode, string | number> = {
  append: 'a',
  'append-sync': constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC,
  read: 'r',
  write: 'w',
  'update-sync': constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC,
}

/** The real file system (node:fs/promises). */
export const nodeFs: FsLike = {
  async mkdir(path) {
    const first = await mkdir(path, { recursive: true })
    if (first === undefined) return
    // A new directory's name is durable only once its parent is fsynced: each level that was created.
    const made: string[] = []
    for (let p = path; p.length >= first.length; p = dirname(p)) made.push(p)
    for (const d of made.reverse()) await nodeFs.syncDir(dirname(d))
  },
  readdir: (path) => readdir(path),
  async readFile(path, into) {
    if (!into) return readFile(path)
    const h = await open(path, 'r')
    try {
      const size = (await h.stat()).size
      if (size > into.length) return await h.readFile()
      let got = 0
      while (got < size) {
        const { bytesRead } = await h.read(into, got, size - got, got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      return into.subarray(0, got)
    } finally {
      await h.close()
    }
  },
  async open(path, mode) {
    return new NodeHandle(await open(path, FLAGS[mode]))
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(path) {
    const h = await open(path, constants.O_RDONLY | constants.O_DIRECTORY)
    try {
      await h.sync()
    } finally {
      await h.close()
    }
  },
}

/** True for an error that says the file does not exist. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT'
}

/**
 * Replace `path` atomically and durably: write a temporary file, fsync it, rename it over `path`, fsync the
 * directory. After a power cut the file holds either the old or the new bytes, never a mix.
 */
export async function writeFileDurably(fs: FsLike, path: string, data: Uint8Array): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `.${path.slice(dir.length + 1)}.tmp`)
  const h = await fs.open(tmp, 'write')
  try {
    await h.write(data)
    await h.sync()
  } finally {
    await h.close()
  }
  await fs.rename(tmp, path)
  await fs.syncDir(dir)
}
