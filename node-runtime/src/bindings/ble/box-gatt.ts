/**
 * The payment service's GATT behaviour, independent of the BLE stack: what a State write, a Client2Server
 * write, a subscription, an Ident read, a connection and a disconnection mean. The bleno binding wires bleno's
 * callbacks to it; the simulated binding calls it directly, so both behave the same.
 */
import { BLE_STATE } from '@opg/protocol'
import { BleError, type BleSessionHandler } from './ble.js'
import { BoxSession, type SessionLink } from './box-session.js'

/** ATT result codes returned to the stack (Bluetooth Core Vol 3 Part F 3.4.1.1). */
export const ATT_RESULT = {
  success: 0x00,
  invalidOffset: 0x07,
  invalidAttributeLength: 0x0d,
  unlikelyError: 0x0e,
} as const

/** The characteristics a wallet can subscribe to. */
export type NotifyingCharacteristic = 'state' | 'server2Client'

type Notify = (data: Buffer) => void

interface Connection {
  peer: string
  mtu: number
  notify: Partial<Record<NotifyingCharacteristic, { send: Notify; maxValueSize: number }>>
}

/** Options of a BoxGattServer. */
export interface BoxGattServerOptions {
  handler: BleSessionHandler
  ident: Uint8Array
  maxMessageSize?: number
  onError: (err: Error) => void
  /** Drop the current link (the stack's disconnect). */
  dropLink: () => void
  /** Drop a link with no traffic for this long, so one idle phone cannot hold the box (default 30 s; 0 = never). */
  idleTimeoutMs?: number
}

/** GATT-level state of the box: at most one connection (bleno serves one central) and one session on it. */
export class BoxGattServer {
  #opts: BoxGattServerOptions
  #conn: Connection | undefined
  #session: BoxSession | undefined
  #nextId = 1
  #idleTimer: NodeJS.Timeout | undefined

  constructor(options: BoxGattServerOptions) {
    this.#opts = options
  }

  /** The session now open, if any. */
  get session(): BoxSession | undefined {
    return this.#session
  }

  /** A central connected. */
  accept(peer: string): void {
    this.#endSession('disconnected')
    this.#conn = { peer, mtu: 23, notify: {} }
    this.#touch()
  }

  /** The link dropped: the session ends and any partial message is discarded. */
  disconnect(): void {
    clearTimeout(this.#idleTimer)
    this.#endSession('disconnected')
    this.#conn = undefined
  }

  /** The ATT MTU changed (MTU exchange). */
  setMtu(mtu: number): void {
    if (this.#conn) this.#conn.mtu = mtu
  }

  subscribe(which: NotifyingCharacteristic, maxValueSize: number, send: Notify): void {
    if (!this.#conn) return
    this.#conn.notify[which] = { send, maxValueSize }
    // The subscription tells the value size the stack will send whole; trust it over a missed MTU event.
    this.#conn.mtu = Math.max(this.#conn.mtu, maxValueSize + 3)
  }

  unsubscribe(which: NotifyingCharacteristic): void {
    if (this.#conn) delete this.#conn.notify[which]
  }

  /**
   * Wallet wrote State: 0x01 starts a session (replacing any open one), 0x02 ends it. A start may carry the
   * session's first message after the 0x01 (`0x01 || message`, unframed, one ATT value): the wallet's hello
   * then costs no separate write, which keeps a payment at two round trips and three writes at MTU 185.
   */
  writeState(data: Uint8Array, offset: number): number {
    if (offset !== 0) return ATT_RESULT.invalidOffset
    if (data.length === 0) return ATT_RESULT.invalidAttributeLength
    if (data[0] !== BLE_STATE.start && data.length !== 1) return ATT_RESULT.invalidAttributeLength
    const conn = this.#conn
    if (!conn) return ATT_RESULT.unlikelyError
    this.#touch()
    if (data[0] === BLE_STATE.start) {
      this.#endSession('disconnected')
      const session = this.#startSession(conn)
      // Copy: the stack may reuse its buffer once the write is acknowledged.
      if (data.length > 1) session.onMessage(data.slice(1))
      return ATT_RESULT.success
    }
    if (data[0] === BLE_STATE.end) {
      this.#endSession('ended_by_peer')
      return ATT_RESULT.success
    }
    return ATT_RESULT.unlikelyError
  }

  /**
   * Wallet wrote a Client2Server chunk. bleno delivers a long (prepared) write as one call at offset 0, so
   * only offset 0 is meaningful; a write outside a session is dropped and reported.
   */
  writeClient2Server(data: Uint8Array, offset: number): number {
    if (offset !== 0) return ATT_RESULT.invalidOffset
    this.#touch()
    const session = this.#session
    if (!session) {
      this.#opts.onError(new BleError('NO_SESSION', 'Client2Server write outside a session (no State 0x01)'))
      return ATT_RESULT.unlikelyError
    }
    session.onChunk(new Uint8Array(data))
    return ATT_RESULT.success
  }

  /** Read of Ident; the stack hands the offset of a long read to us, so apply it here. */
  readIdent(offset: number): { result: number; data?: Buffer } {
    const ident = this.#opts.ident
    if (offset > ident.length) return { result: ATT_RESULT.invalidOffset }
    return { result: ATT_RESULT.success, data: Buffer.from(ident.subarray(offset)) }
  }

  /** End everything (binding stopping). */
  stop(): void {
    clearTimeout(this.#idleTimer)
    this.#endSession('stopped')
    this.#conn = undefined
  }

  #startSession(conn: Connection): BoxSession {
    const link: SessionLink = {
      peer: conn.peer,
      mtu: () => conn.mtu,
      notifyChunk: (chunk) => {
        const n = conn.notify.server2Client
        if (!n || this.#conn !== conn)
          throw new BleError('NOT_SUBSCRIBED', 'wallet is not subscribed to Server2Client')
        // bleno silently truncates a notification longer than mtu − 3; chunkMessage never makes one.
        this.#touch()
        n.send(Buffer.from(chunk))
      },
      notifyState: (value) => {
        if (this.#conn === conn) conn.notify.state?.send(Buffer.from([value]))
      },
    }
    const session = new BoxSession(this.#nextId++, link, this.#opts.maxMessageSize)
    this.#session = session
    void session.ended.then(() => {
      if (this.#session === session) this.#session = undefined
    })
    const failed = (cause: unknown) => {
      this.#opts.onError(new BleError('HANDLER_FAILED', 'BLE session handler failed', { cause }))
      void session.close()
    }
    // Called synchronously, so the handler is in place before the State write is acknowledged.
    try {
      Promise.resolve(this.#opts.handler(session)).catch(failed)
    } catch (cause) {
      failed(cause)
    }
    return session
  }

  /** Restart the idle timer: any write or notification counts as traffic. */
  #touch(): void {
    clearTimeout(this.#idleTimer)
    const ms = this.#opts.idleTimeoutMs ?? 30_000
    if (ms <= 0 || !this.#conn) return
    this.#idleTimer = setTimeout(() => {
      this.#endSession('idle_timeout')
      this.#opts.dropLink()
    }, ms)
  }

  #endSession(reason: 'disconnected' | 'ended_by_peer' | 'stopped' | 'idle_timeout'): void {
    const session = this.#session
    this.#session = undefined
    session?.end({ reason })
  }
}
