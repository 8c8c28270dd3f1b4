/**
 * The journal's high-water mark: the sequence number of the last record the vault has confirmed, kept in a
 * file of its own (`hwm`) and written after each commit. At start-up, damage at or below it is corruption
 * (a confirmed payment is hurt: quarantine and report), never a torn tail to cut — only records above it
 * may be the unacknowledged remains of the write the power cut.
 *
 * The file has two slots, one flash block apart, written alternately in place with O_DSYNC: a write torn by
 * a power cut damages at most the slot being written, and the other still holds the previous mark. Each slot
 * is MACed under the vault's header key, so a damaged or forged slot is ignored, not believed.
 */
import { createHmac } from 'node:crypto'
import { join } from 'node:path'
import type { FileHandleLike, FsLike } from './fs.js'
import { isNotFound } from './fs.js'

export const HWM_FILE = 'hwm'
const SLOT = 32
const MAGIC = Buffer.from('OPGHWM01', 'latin1')

function slotBytes(macKey: Buffer, seq: number): Buffer {
  const out = Buffer.alloc(SLOT)
  MAGIC.copy(out, 0)
  out.writeUInt32BE(Math.floor(seq / 2 ** 32), 8)
  out.writeUInt32BE(seq >>> 0, 12)
  createHmac('sha256', macKey).update(out.subarray(0, 16)).digest().copy(out, 16, 0, 16)
  return out
}

function readSlot(macKey: Buffer, b: Buffer): number | undefined {
  if (b.length < SLOT || !b.subarray(0, 8).equals(MAGIC)) return undefined
  const mac = createHmac('sha256', macKey).update(b.subarray(0, 16)).digest().subarray(0, 16)
  if (!mac.equals(b.subarray(16, SLOT))) return undefined
  return b.readUInt32BE(8) * 2 ** 32 + b.readUInt32BE(12)
}

/** What the mark file said at open. */
export interface HighWaterRead {
  /** Last confirmed sequence number, or -1 when none is known. */
  seq: number
  /** The file exists but neither slot authenticates (damage): the mark is unknown. */
  unreadable: boolean
  /** The slot holding the newer mark (0 or 1): the next write goes to the other one. */
  newer: number
}

export async function readHighWater(
  fs: FsLike,
  dir: string,
  macKey: Buffer,
  block: number,
): Promise<HighWaterRead> {
  let bytes: Buffer
  try {
    bytes = Buffer.from(await fs.readFile(join(dir, HWM_FILE)))
  } catch (err) {
    if (isNotFound(err)) return { seq: -1, unreadable: false, newer: 1 }
    throw err
  }
  const a = readSlot(macKey, bytes.subarray(0, SLOT))
  const b = readSlot(macKey, bytes.subarray(block, block + SLOT))
  if (a === undefined && b === undefined) return { seq: -1, unreadable: bytes.length > 0, newer: 1 }
  return { seq: Math.max(a ?? -1, b ?? -1), unreadable: false, newer: (b ?? -1) > (a ?? -1) ? 1 : 0 }
}

/**
 * Writes the mark in the background, one write at a time, always the newest value; never on a commit's
 * path (a commit would pay a second flash write). It waits `delayMs` after a commit before writing, so a
 * run of commits shares one mark write instead of each competing with the next commit for the card; the
 * mark thus trails the journal by at most that delay plus one write. A box is idle between customers far
 * longer than that.
 */
export class HighWaterMark {
  readonly #fs: FsLike
  readonly #path: string
  readonly #dir: string
  readonly #macKey: Buffer
  readonly #block: number
  #handle: FileHandleLike | undefined
  #written: number
  #target: number
  #slot = 0
  #running: Promise<void> | undefined
  #error: unknown
  /** Mark writes done (for the write-amplification figures). */
  writes = 0

  readonly #delayMs: number

  /** `newerSlot`: the slot holding the newest mark now, so the first write never overwrites it. */
  constructor(
    fs: FsLike,
    dir: string,
    macKey: Buffer,
    block: number,
    start: number,
    newerSlot = 1,
    delayMs = 20,
  ) {
    this.#delayMs = delayMs
    this.#slot = newerSlot
    this.#fs = fs
    this.#dir = dir
    this.#path = join(dir, HWM_FILE)
    this.#macKey = macKey
    this.#block = block
    this.#written = start
    this.#target = start
  }

  /** The last mark known durable. */
  get durable(): number {
    return this.#written
  }

  /** Records up to `seq` are confirmed: get the mark there soon. */
  advance(seq: number): void {
    if (seq <= this.#target) return
    this.#target = seq
    this.#running ??= new Promise<void>((r) => setTimeout(r, this.#delayMs))
      .then(() => this.#pump())
      .finally(() => {
        this.#running = undefined
      })
  }

  /** Resolves once the mark has caught up with everything confirmed so far (or the write failed). */
  async settle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async #pump(): Promise<void> {
    while (this.#written < this.#target && this.#error === undefined) {
      const seq = this.#target
      try {
        if (!this.#handle) {
          this.#handle = await this.#fs.open(this.#path, 'update-sync')
          // A new file's name must be durable before the mark in it counts for anything.
          await this.#fs.syncDir(this.#dir)
        }
        this.#slot ^= 1
        await this.#handle.writeAt(slotBytes(this.#macKey, seq), this.#slot * this.#block)
        this.writes++
        this.#written = seq
      } catch (err) {
        // The journal stays right without the mark; start-up then knows less. Stop trying until reopened.
        this.#error = err
      }
    }
  }

  async close(): Promise<void> {
    await this.settle()
    await this.#handle?.close()
    this.#handle = undefined
  }
}
