/**
 * The journal's on-flash layout. A segment file is a 32-byte header (magic, segment number, MAC that also
 * tells a wrong key) followed by frames:
 *
 *   0 magic 'OV' | 2 version | 3 padding shift | 4 body length u32 | 8 seq u64 | 16 offset of the record in
 *   its write batch u32 | 20 previous record's GCM tag (16) | 36 nonce (12) | 48 CRC-32 of bytes 0..48 | 52 body
 *
 * A padding shift k > 0 marks the last frame of a write batch: zeros follow it up to the next multiple of 2^k
 * bytes of the file, where the next batch starts. Each commit thus begins on a fresh flash block and never
 * rewrites a block that holds an already confirmed frame (see journal-writer.ts). The shift is in the
 * authenticated header, so padding cannot be forged to hide a record.
 *
 * The body is AES-128-GCM(ciphertext || tag) of the CBOR record, with bytes 0..48 as associated data. Each
 * frame carries the previous frame's tag, so the tags form a MAC chain: removing, reordering or replaying a
 * record breaks it, and every frame can still be authenticated alone (which lets recovery tell a torn tail
 * from damage in the middle). Nonces are random: a sequence number can be rewritten after a torn tail is cut,
 * so a counter nonce could repeat under one key.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'

export const FRAME_HEADER = 52
const AAD_LEN = 48
const TAG = 16
const NONCE = 12
const MAGIC = 0x4f56
const VERSION = 1
/** Records are a few hundred bytes and seals under a megabyte per 4 MiB segment; more than this is damage. */
export const MAX_BODY = 1 << 24

export const SEGMENT_HEADER = 32
const SEGMENT_MAGIC = Buffer.from('OPGVSEG1', 'latin1')

/** Purpose keys derived from the one vault key the caller supplies. */
export interface VaultKeys {
  journal: Buffer
  mac: Buffer
  /** HMAC key of segment seals. */
  seal: Buffer
  anchor: Buffer
  genesis: Buffer
}

function hkdf(key: Uint8Array, info: string, len: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, 'opg-vault', info, len))
}

/** Derive the journal, header-MAC and anchor keys from the 16-byte vault key. */
export function deriveVaultKeys(key: Uint8Array): VaultKeys {
  if (!(key instanceof Uint8Array) || key.length !== 16) throw new RangeError('vault key must be 16 bytes')
  const mac = hkdf(key, 'journal header mac v1', 32)
  return {
    journal: hkdf(key, 'journal aead v1', 16),
    mac,
    seal: hkdf(key, 'segment seal mac v1', 32),
    anchor: hkdf(key, 'anchor aead v1', 16),
    genesis: createHmac('sha256', mac).update('genesis').digest().subarray(0, TAG),
  }
}

/** A frame read back and authenticated. */
export interface Frame {
  seq: number
  batchOffset: number
  prevTag: Buffer
  tag: Buffer
  plain: Buffer
  start: number
  end: number
  /** Where the next frame starts: `end`, or `end` rounded up to the padding block. */
  next: number
}

/** Round `n` up to a multiple of `block` (a power of two). */
export function alignUp(n: number, block: number): number {
  return Math.ceil(n / block) * block
}

/** Random 12-byte nonces, drawn from the CSPRNG 1024 at a time (one call per frame costs more than the AEAD). */
export class NoncePool {
  #bytes = Buffer.alloc(0)
  #at = 0
  /** Copy a fresh nonce into `out` at `at`. */
  into(out: Buffer, at: number): void {
    if (this.#at + NONCE > this.#bytes.length) {
      this.#bytes = randomBytes(NONCE * 1024)
      this.#at = 0
    }
    this.#bytes.copy(out, at, this.#at, this.#at + NONCE)
    this.#at += NONCE
  }
}

/** Build one frame. */
export function sealFrame(
  key: Buffer,
  seq: number,
  batchOffset: number,
  prevTag: Uint8Array,
  plain: Uint8Array,
  nonces: NoncePool,
  padShift = 0,
): { bytes: Buffer; tag: Buffer } {
  const out = Buffer.allocUnsafe(FRAME_HEADER + plain.length + TAG)
  out.writeUInt16BE(MAGIC, 0)
  out[2] = VERSION
  out[3] = padShift
  out.writeUInt32BE(plain.length + TAG, 4)
  out.writeUInt32BE(Math.floor(seq / 2 ** 32), 8)
  out.writeUInt32BE(seq >>> 0, 12)
  out.writeUInt32BE(batchOffset, 16)
  out.set(prevTag, 20)
  nonces.into(out, 36)
  out.writeUInt32BE(crc32(out.subarray(0, AAD_LEN)), AAD_LEN)
  const c = createCipheriv('aes-128-gcm', key, out.subarray(36, 48))
  c.setAAD(out.subarray(0, AAD_LEN))
  let off = FRAME_HEADER
  off += c.update(plain).copy(out, off)
  off += c.final().copy(out, off)
  const tag = c.getAuthTag()
  tag.copy(out, off)
  return { bytes: out, tag }
}

export type FrameRead =
  | { kind: 'ok'; frame: Frame }
  /** Ends before the frame does: a torn tail if it is the last thing in the journal. */
  | { kind: 'short' }
  /** Header or body fails its check. */
  | { kind: 'bad'; reason: string }

/** Whether a plausible frame header (magic, version, CRC, sane length) starts at `pos`. */
export function headerLooksValid(buf: Buffer, pos: number): boolean {
  if (pos + FRAME_HEADER > buf.length) return false
  if (buf.readUInt16BE(pos) !== MAGIC || buf[pos + 2] !== VERSION) return false
  const len = buf.readUInt32BE(pos + 4)
  if (len < TAG || len > MAX_BODY + TAG) return false
  return crc32(buf.subarray(pos, pos + AAD_LEN)) === buf.readUInt32BE(pos + AAD_LEN)
}

/** Read and authenticate the frame at `pos`. */
export function openFrameAt(key: Buffer, buf: Buffer, pos: number): FrameRead {
  if (pos + FRAME_HEADER > buf.length) return { kind: 'short' }
  if (!headerLooksValid(buf, pos)) return { kind: 'bad', reason: 'frame header check failed' }
  const len = buf.readUInt32BE(pos + 4)
  const end = pos + FRAME_HEADER + len
  if (end > buf.length) return { kind: 'short' }
  try {
    const d = createDecipheriv('aes-128-gcm', key, buf.subarray(pos + 36, pos + 48))
    d.setAAD(buf.subarray(pos, pos + AAD_LEN))
    const tag = buf.subarray(end - TAG, end)
    d.setAuthTag(tag)
    const plain = d.update(buf.subarray(pos + FRAME_HEADER, end - TAG))
    // GCM yields everything from update(); final() only checks the tag (it throws if it fails).
    if (d.final().length !== 0) return { kind: 'bad', reason: 'unexpected trailing plaintext' }
    const shift = buf[pos + 3]!
    if (shift > 20) return { kind: 'bad', reason: 'bad padding shift' }
    return {
      kind: 'ok',
      frame: {
        seq: buf.readUInt32BE(pos + 8) * 2 ** 32 + buf.readUInt32BE(pos + 12),
        batchOffset: buf.readUInt32BE(pos + 16),
        prevTag: buf.subarray(pos + 20, pos + 36),
        tag,
        plain,
        start: pos,
        end,
        next: shift === 0 ? end : alignUp(end, 2 ** shift),
      },
    }
  } catch {
    return { kind: 'bad', reason: 'frame authentication failed' }
  }
}

/**
 * Decrypt a damaged frame's body WITHOUT authenticating it (GCM is counter mode underneath, so the bytes
 * before the damage still decrypt). Only for salvaging identifiers that stop a replay of a lost payment's
 * token; never treated as a record. Undefined when even the header is unreadable.
 */
export function decryptUnauthenticated(key: Buffer, buf: Buffer, pos: number): Buffer | undefined {
  if (!headerLooksValid(buf, pos)) return undefined
  const len = buf.readUInt32BE(pos + 4)
  const end = Math.min(buf.length, pos + FRAME_HEADER + len - TAG)
  if (end <= pos + FRAME_HEADER) return undefined
  const d = createDecipheriv('aes-128-gcm', key, buf.subarray(pos + 36, pos + 48))
  d.setAAD(buf.subarray(pos, pos + AAD_LEN))
  return d.update(buf.subarray(pos + FRAME_HEADER, end))
}

/** Header of segment `segNo`. */
export function segmentHeader(macKey: Buffer, segNo: number): Buffer {
  const out = Buffer.alloc(SEGMENT_HEADER)
  SEGMENT_MAGIC.copy(out, 0)
  out.writeUInt32BE(Math.floor(segNo / 2 ** 32), 8)
  out.writeUInt32BE(segNo >>> 0, 12)
  createHmac('sha256', macKey).update(out.subarray(0, 16)).digest().copy(out, 16, 0, 16)
  return out
}

/** 'ok', 'torn' (too short or not a header at all) or 'wrong_key' (a header whose MAC fails) or 'mismatch'. */
export function checkSegmentHeader(
  macKey: Buffer,
  buf: Buffer,
  segNo: number,
): 'ok' | 'torn' | 'wrong_key' | 'mismatch' {
  if (buf.length < SEGMENT_HEADER || !buf.subarray(0, 8).equals(SEGMENT_MAGIC)) return 'torn'
  const mac = createHmac('sha256', macKey).update(buf.subarray(0, 16)).digest().subarray(0, 16)
  if (!mac.equals(buf.subarray(16, SEGMENT_HEADER))) return 'wrong_key'
  const n = buf.readUInt32BE(8) * 2 ** 32 + buf.readUInt32BE(12)
  return n === segNo ? 'ok' : 'mismatch'
}

/** Follows a seal frame at the very end of a sealed segment: magic and the seal frame's offset. */
export const SEAL_TRAILER = 12
const TRAILER_MAGIC = Buffer.from('OPGVEND1', 'latin1')

export function sealTrailer(sealOffset: number): Buffer {
  const out = Buffer.alloc(SEAL_TRAILER)
  TRAILER_MAGIC.copy(out, 0)
  out.writeUInt32BE(sealOffset, 8)
  return out
}

/** The seal frame offset named by a trailer at the end of `buf`, if there is a well-formed one. */
export function readSealTrailer(buf: Buffer): number | undefined {
  if (buf.length < SEGMENT_HEADER + SEAL_TRAILER) return undefined
  const t = buf.subarray(buf.length - SEAL_TRAILER)
  if (!t.subarray(0, 8).equals(TRAILER_MAGIC)) return undefined
  const off = t.readUInt32BE(8)
  return off >= SEGMENT_HEADER && off < buf.length - SEAL_TRAILER ? off : undefined
}

/** Where the retained journal starts, after compaction removed older segments. */
export interface Anchor {
  firstSegment: number
  firstSeq: number
  prevTag: Buffer
}

const ANCHOR_AAD = Buffer.from('opg-vault-anchor-v1')

export function sealAnchor(key: Buffer, a: Anchor): Buffer {
  const plain = Buffer.alloc(32)
  plain.writeUInt32BE(Math.floor(a.firstSegment / 2 ** 32), 0)
  plain.writeUInt32BE(a.firstSegment >>> 0, 4)
  plain.writeUInt32BE(Math.floor(a.firstSeq / 2 ** 32), 8)
  plain.writeUInt32BE(a.firstSeq >>> 0, 12)
  a.prevTag.copy(plain, 16)
  const nonce = randomBytes(NONCE)
  const c = createCipheriv('aes-128-gcm', key, nonce)
  c.setAAD(ANCHOR_AAD)
  return Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()])
}

/** Returns undefined when the anchor does not authenticate. */
export function openAnchor(key: Buffer, bytes: Uint8Array): Anchor | undefined {
  const b = Buffer.from(bytes)
  if (b.length !== NONCE + 32 + TAG) return undefined
  try {
    const d = createDecipheriv('aes-128-gcm', key, b.subarray(0, NONCE))
    d.setAAD(ANCHOR_AAD)
    d.setAuthTag(b.subarray(NONCE + 32))
    const p = Buffer.concat([d.update(b.subarray(NONCE, NONCE + 32)), d.final()])
    return {
      firstSegment: p.readUInt32BE(0) * 2 ** 32 + p.readUInt32BE(4),
      firstSeq: p.readUInt32BE(8) * 2 ** 32 + p.readUInt32BE(12),
      prevTag: Buffer.from(p.subarray(16, 32)),
    }
  } catch {
    return undefined
  }
}
