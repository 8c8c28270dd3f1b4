/**
 * BLE chunk framing for the payment channel (ISO/IEC 18013-5 style data retrieval).
 *
 * The box is a GATT server with one primary service holding State, Client2Server, Server2Client and Ident
 * characteristics. A message is cut into chunks that each fit one ATT value of MTU−3 bytes; the first byte of a
 * chunk says whether more chunks follow (0x01) or this is the last one (0x00). The framing carries opaque
 * bytes: session crypto sits above it and never needs to know the MTU.
 */
import { ProtocolError } from './errors.js'

/**
 * GATT UUIDs, written the way bleno and noble spell them: 32 lowercase hex digits, no dashes.
 * Fixed random 128-bit values (not Bluetooth SIG assigned numbers), so they never collide with a standard service.
 */
export const BLE_UUIDS = {
  /** The primary payment service, advertised by the box. */
  service: '6f70670a1c5e4b2d9e8a3c1f0b7d5e40',
  /** State: the wallet writes 0x01 to start a session and 0x02 to end it; the box notifies 0x02 when it ends one. */
  state: '6f70670a1c5e4b2d9e8a3c1f0b7d5e41',
  /** Client2Server: wallet → box chunks, written without response. */
  client2Server: '6f70670a1c5e4b2d9e8a3c1f0b7d5e42',
  /** Server2Client: box → wallet chunks, sent as notifications. */
  server2Client: '6f70670a1c5e4b2d9e8a3c1f0b7d5e43',
  /** Ident: a short read-only value naming the box, read by the wallet before the session starts. */
  ident: '6f70670a1c5e4b2d9e8a3c1f0b7d5e44',
} as const

/** Values written to (or notified on) the State characteristic. */
export const BLE_STATE = { start: 0x01, end: 0x02 } as const

/** First byte of a chunk: more chunks follow. */
export const CHUNK_MORE = 0x01
/** First byte of a chunk: this chunk ends the message. */
export const CHUNK_LAST = 0x00

/** The smallest ATT MTU (Bluetooth Core 4.0) and the largest one the ATT protocol allows. */
export const ATT_MTU_MIN = 23
export const ATT_MTU_MAX = 517

/** Default upper bound on one reassembled message; a payment token envelope is well under 1 KiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 4096

/** Bytes of message payload one chunk carries at a given ATT MTU (MTU − 3 ATT header − 1 flag byte). */
export function chunkPayloadSize(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < ATT_MTU_MIN || mtu > ATT_MTU_MAX) {
    throw new ProtocolError('bad_field', `ATT MTU must be an integer in ${ATT_MTU_MIN}..${ATT_MTU_MAX}`)
  }
  return mtu - 4
}

/**
 * Cut `msg` into chunks of at most `mtu − 3` bytes, each led by CHUNK_MORE or CHUNK_LAST.
 * An empty message is one chunk holding only CHUNK_LAST.
 */
export function chunkMessage(msg: Uint8Array, mtu: number): Uint8Array[] {
  const room = chunkPayloadSize(mtu)
  const chunks: Uint8Array[] = []
  let offset = 0
  do {
    const end = Math.min(offset + room, msg.length)
    const chunk = new Uint8Array(1 + end - offset)
    chunk[0] = end === msg.length ? CHUNK_LAST : CHUNK_MORE
    chunk.set(msg.subarray(offset, end), 1)
    chunks.push(chunk)
    offset = end
  } while (offset < msg.length)
  return chunks
}

/** Options of a Reassembler. */
export interface ReassemblerOptions {
  /** Largest message accepted, in bytes (default 4096). */
  maxMessageSize?: number
}

/**
 * Joins chunks back into messages, one connection's direction at a time.
 * On any error the partial message is dropped, so the next chunk starts a fresh message.
 */
export class Reassembler {
  readonly maxMessageSize: number
  #parts: Uint8Array[] = []
  #size = 0

  constructor(options: ReassemblerOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
  }

  /** Bytes of the message buffered so far. */
  get pending(): number {
    return this.#size
  }

  /** True while a message has begun but its last chunk has not arrived. */
  get inProgress(): boolean {
    return this.#parts.length > 0
  }

  /**
   * Take one chunk. Returns the whole message when `chunk` was its last one, otherwise undefined.
   * Throws ProtocolError 'truncated' (empty chunk), 'bad_encoding' (unknown flag byte) or 'oversized'
   * (the message would pass maxMessageSize; checked before anything is buffered).
   */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (chunk.length === 0) {
      this.reset()
      throw new ProtocolError('truncated', 'empty BLE chunk')
    }
    const flag = chunk[0]
    if (flag !== CHUNK_MORE && flag !== CHUNK_LAST) {
      this.reset()
      throw new ProtocolError(
        'bad_encoding',
        `unknown BLE chunk flag 0x${flag?.toString(16).padStart(2, '0')}`,
      )
    }
    const payloadLength = chunk.length - 1
    if (this.#size + payloadLength > this.maxMessageSize) {
      this.reset()
      throw new ProtocolError('oversized', `BLE message exceeds ${this.maxMessageSize} bytes`)
    }
    // Copy: callers often hand in a view of a buffer the BLE stack reuses.
    this.#parts.push(chunk.slice(1))
    this.#size += payloadLength
    if (flag === CHUNK_MORE) return undefined
    const message = new Uint8Array(this.#size)
    let offset = 0
    for (const part of this.#parts) {
      message.set(part, offset)
      offset += part.length
    }
    this.reset()
    return message
  }

  /** Drop any partial message (on disconnect or session end). */
  reset(): void {
    this.#parts = []
    this.#size = 0
  }
}

/**
 * The State write that starts a session (SPEC.md §10): `0x01 || WalletHello` when that fits one ATT value
 * (MTU − 3 bytes), else the bare `0x01`, and the hello then goes in chunks on Client2Server.
 */
export function sessionStartWrite(walletHello: Uint8Array, mtu: number): Uint8Array {
  chunkPayloadSize(mtu)
  if (1 + walletHello.length > mtu - 3) return Uint8Array.of(BLE_STATE.start)
  const out = new Uint8Array(1 + walletHello.length)
  out[0] = BLE_STATE.start
  out.set(walletHello, 1)
  return out
}
