/**
 * What start-up does with journal bytes that do not authenticate and are not a torn tail: the box still
 * starts and keeps every intact payment; the damaged bytes are copied to `quarantine/` under a name that
 * gives their position, listed in `quarantine/report.json` (positions and reasons only: no payment detail
 * in clear), and reported in status. From a damaged payment frame the identifiers that stop a replay of its
 * token (tx id, wallet, counter) are salvaged when the start of its body still decrypts.
 */
import { join } from 'node:path'
import { type FsLike, isNotFound, writeFileDurably } from './fs.js'

export type DamageReason =
  /** Bytes that should hold records and do not authenticate. */
  | 'damaged_frame'
  /** Records missing between two intact ones (the chain jumps). */
  | 'chain_gap'
  /** An intact record that does not belong where it is (older sequence number: replayed or reordered). */
  | 'out_of_order'
  /** The journal ends before the last record the high-water mark says was confirmed. */
  | 'missing_records'
  /** The high-water mark file itself does not authenticate. */
  | 'mark_unreadable'

/** One damaged place in the journal. */
export interface JournalDamage {
  reason: DamageReason
  segment: number
  offset: number
  length: number
  /** Sequence number the chain expected there. */
  record: number
  /** Records of the chain lost there, when known. */
  missingRecords?: number
  /** File under the vault directory holding a copy of the damaged bytes. */
  quarantined?: string
  /** True when the damage hurts a record the vault had confirmed (not a torn, never-acknowledged write). */
  confirmed: boolean
}

/** Identifiers read from the readable start of a damaged payment frame. */
export interface SalvagedPayment {
  txId: string
  walletId: string
  counter: number
  amount: number
  currency: string
  acceptedAt: number
}

export const QUARANTINE_DIR = 'quarantine'
const REPORT = 'report.json'

/** Minimal CBOR reader for the first items of a payment record (codec.ts layout); throws past the end. */
class Prefix {
  #at = 0
  constructor(readonly b: Buffer) {}
  #n(bytes: number): number {
    if (this.#at + bytes > this.b.length) throw new RangeError('truncated')
    const v =
      bytes === 1
        ? this.b[this.#at]!
        : bytes === 2
          ? this.b.readUInt16BE(this.#at)
          : bytes === 4
            ? this.b.readUInt32BE(this.#at)
            : Number(this.b.readBigUInt64BE(this.#at))
    this.#at += bytes
    return v
  }
  head(): { major: number; value: number } {
    const ib = this.#n(1)
    const major = ib >> 5
    const info = ib & 31
    if (major === 7) {
      if (info === 25) throw new RangeError('half float')
      if (info === 26) {
        const v = this.b.readFloatBE(this.#at)
        this.#at += 4
        return { major, value: v }
      }
      if (info === 27) {
        if (this.#at + 8 > this.b.length) throw new RangeError('truncated')
        const v = this.b.readDoubleBE(this.#at)
        this.#at += 8
        return { major, value: v }
      }
      return { major, value: info }
    }
    const value =
      info < 24
        ? info
        : info === 24
          ? this.#n(1)
          : info === 25
            ? this.#n(2)
            : info === 26
              ? this.#n(4)
              : info === 27
                ? this.#n(8)
                : -1
    if (value < 0) throw new RangeError('indefinite')
    return { major, value }
  }
  num(): number {
    const h = this.head()
    if (h.major === 0 || h.major === 7) return h.value
    if (h.major === 1) return -1 - h.value
    throw new TypeError('not a number')
  }
  text(): string {
    const h = this.head()
    if (h.major !== 3) throw new TypeError('not text')
    if (this.#at + h.value > this.b.length) throw new RangeError('truncated')
    const s = this.b.toString('utf8', this.#at, this.#at + h.value)
    this.#at += h.value
    return s
  }
}

/** The identifiers of a payment from its (unauthenticated) plaintext prefix, if they read back plausibly. */
export function salvagePayment(plain: Buffer): SalvagedPayment | undefined {
  try {
    const p = new Prefix(plain)
    const arr = p.head()
    if (arr.major !== 4 || p.num() !== 1) return undefined
    const txId = p.text()
    const walletId = p.text()
    const counter = p.num()
    const amount = p.num()
    const currency = p.text()
    p.text() // merchant
    p.text() // device
    const acceptedAt = p.num()
    const ok =
      /^[0-9a-f-]{8,64}$/i.test(txId) &&
      /^[0-9A-Za-z_-]{1,128}$/.test(walletId) &&
      Number.isSafeInteger(counter) &&
      counter >= 0 &&
      Number.isSafeInteger(amount) &&
      amount > 0 &&
      /^[A-Z]{3}$/.test(currency) &&
      Number.isSafeInteger(acceptedAt)
    return ok ? { txId, walletId, counter, amount, currency, acceptedAt } : undefined
  } catch {
    return undefined
  }
}

function quarantineName(d: JournalDamage): string {
  return `seg-${String(d.segment).padStart(12, '0')}-at-${d.offset}-${d.reason}.bin`
}

/**
 * Copy each damaged range into the quarantine directory (once) and merge the damage into its report.
 * Returns the damage with `quarantined` set. The journal itself is left as it is: nothing is deleted.
 */
export async function quarantine(
  fs: FsLike,
  vaultDir: string,
  found: { damage: JournalDamage; bytes: Uint8Array | undefined }[],
): Promise<JournalDamage[]> {
  if (found.length === 0) return []
  const qdir = join(vaultDir, QUARANTINE_DIR)
  await fs.mkdir(qdir)
  const have = new Set(await fs.readdir(qdir))
  const out: JournalDamage[] = []
  for (const { damage, bytes } of found) {
    const name = quarantineName(damage)
    if (bytes && bytes.length > 0 && !have.has(name)) await writeFileDurably(fs, join(qdir, name), bytes)
    out.push(bytes && bytes.length > 0 ? { ...damage, quarantined: join(QUARANTINE_DIR, name) } : damage)
  }
  const report = await readQuarantineReport(fs, vaultDir)
  const key = (d: JournalDamage) => `${d.reason}:${d.segment}:${d.offset}`
  const known = new Set(report.map(key))
  const fresh = out.filter((d) => !known.has(key(d)))
  if (fresh.length > 0) {
    const next = [...report, ...fresh.map((d) => ({ ...d, firstSeenAt: Date.now() }))]
    await writeFileDurably(fs, join(qdir, REPORT), Buffer.from(`${JSON.stringify(next, null, 1)}\n`))
  }
  return out
}

/** Every damage ever quarantined in this vault (the report survives restarts and compaction). */
export async function readQuarantineReport(
  fs: FsLike,
  vaultDir: string,
): Promise<(JournalDamage & { firstSeenAt?: number })[]> {
  try {
    const parsed = JSON.parse(
      Buffer.from(await fs.readFile(join(vaultDir, QUARANTINE_DIR, REPORT))).toString('utf8'),
    )
    return Array.isArray(parsed) ? parsed : []
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return []
    throw err
  }
}
