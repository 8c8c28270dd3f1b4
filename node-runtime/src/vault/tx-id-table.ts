/**
 * Payment ids → index slots, packed. A Map of 100,000 id strings costs ~90 bytes a payment (a 36-character
 * string, its Map entry, a pointer in a column); wallets write canonical UUIDs (lowercase, hyphenated), which
 * this table keeps as 16 bytes in one buffer with an open-addressing hash of slot numbers (~24 bytes a payment).
 * Any other id (tests, older records) falls back to a Map, so every string round-trips exactly.
 */

const HEX = '0123456789abcdef'
/** Marks a deleted table cell: probing continues past it, inserts may reuse it. */
const GONE = -1

export class TxIdTable {
  /** 16 bytes per slot (zero for slots whose id is not a UUID). */
  #bytes = new Uint8Array(16 * 1024)
  /** Open addressing: slot + 1, 0 = empty, GONE = deleted. Power-of-two size, at most half full. */
  #cells = new Int32Array(2048)
  #used = 0
  #size = 0
  readonly #other = new Map<string, number>()
  readonly #otherBySlot = new Map<number, string>()
  readonly #probe = new Uint8Array(16)

  get size(): number {
    return this.#size
  }

  get(txId: string): number | undefined {
    if (!this.#parse(txId, this.#probe)) return this.#other.get(txId)
    const at = this.#find(this.#probe, 0)
    return at < 0 ? undefined : this.#cells[at]! - 1
  }

  has(txId: string): boolean {
    return this.get(txId) !== undefined
  }

  /** Record `txId` at `slot` (the id must not be present). */
  set(txId: string, slot: number): void {
    this.#size++
    if (!this.#parse(txId, this.#probe)) {
      this.#other.set(txId, slot)
      this.#otherBySlot.set(slot, txId)
      return
    }
    while (this.#bytes.length < (slot + 1) * 16) {
      const more = new Uint8Array(this.#bytes.length * 2)
      more.set(this.#bytes)
      this.#bytes = more
    }
    this.#bytes.set(this.#probe, slot * 16)
    if ((this.#used + 1) * 2 > this.#cells.length) this.#rehash()
    let at = this.#hash(this.#probe, 0) & (this.#cells.length - 1)
    while (this.#cells[at]! > 0) at = (at + 1) & (this.#cells.length - 1)
    if (this.#cells[at] === 0) this.#used++
    this.#cells[at] = slot + 1
  }

  delete(txId: string): void {
    const slot = this.#other.get(txId)
    if (slot !== undefined) {
      this.#other.delete(txId)
      this.#otherBySlot.delete(slot)
      this.#size--
      return
    }
    if (!this.#parse(txId, this.#probe)) return
    const at = this.#find(this.#probe, 0)
    if (at < 0) return
    this.#cells[at] = GONE
    this.#size--
  }

  /** The id stored at `slot` (which must be live). */
  idAt(slot: number): string {
    const other = this.#otherBySlot.get(slot)
    if (other !== undefined) return other
    const b = this.#bytes
    let s = ''
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-'
      const x = b[slot * 16 + i]!
      s += HEX[x >> 4]! + HEX[x & 15]!
    }
    return s
  }

  /** Cell index holding the slot whose bytes equal `id` at `from`, or -1. */
  #find(id: Uint8Array, from: number): number {
    const mask = this.#cells.length - 1
    for (let at = this.#hash(id, from) & mask; ; at = (at + 1) & mask) {
      const cell = this.#cells[at]!
      if (cell === 0) return -1
      if (cell > 0 && this.#equals(cell - 1, id, from)) return at
    }
  }

  #equals(slot: number, id: Uint8Array, from: number): boolean {
    const b = this.#bytes
    for (let i = 0; i < 16; i++) if (b[slot * 16 + i] !== id[from + i]) return false
    return true
  }

  /** FNV-1a over the 16 bytes. */
  #hash(id: Uint8Array, from: number): number {
    let h = 0x811c9dc5
    for (let i = 0; i < 16; i++) h = Math.imul(h ^ id[from + i]!, 0x01000193)
    return h >>> 0
  }

  /**
   * Grow (or only sweep deleted cells) so the table is under half full after: inserts rehash past half, so
   * probes stay short, and 100,000 ids take 262,144 cells (1 MB) where growing to a quarter took twice that.
   */
  #rehash(): void {
    const live = this.#size - this.#other.size
    let n = this.#cells.length
    while (live * 2 >= n) n *= 2
    const old = this.#cells
    this.#cells = new Int32Array(n)
    this.#used = 0
    const mask = n - 1
    for (const cell of old) {
      if (cell <= 0) continue
      let at = this.#hash(this.#bytes, (cell - 1) * 16) & mask
      while (this.#cells[at] !== 0) at = (at + 1) & mask
      this.#cells[at] = cell
      this.#used++
    }
  }

  /** Parse a canonical UUID (lowercase hex, hyphens at 8, 13, 18, 23) into `out`; false for any other string. */
  #parse(txId: string, out: Uint8Array): boolean {
    if (txId.length !== 36) return false
    let j = 0
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (txId.charCodeAt(i) !== 45) return false
        continue
      }
      const hi = hexVal(txId.charCodeAt(i))
      const lo = hexVal(txId.charCodeAt(++i))
      if (hi < 0 || lo < 0) return false
      out[j++] = (hi << 4) | lo
    }
    return true
  }
}

/** 0–15 for 0-9 and a-f; -1 for anything else (upper case included, so ids round-trip exactly). */
function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  return -1
}
