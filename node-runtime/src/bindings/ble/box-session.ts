/**
 * One wallet session on the box, shared by the bleno and simulated bindings: reassembles Client2Server chunks
 * into messages for the handler, chunks outgoing messages to the link's MTU, and ends exactly once.
 * A message whose last chunk never arrived is dropped with the session: the handler never sees half a message.
 */
import { BLE_STATE, chunkMessage, ProtocolError, Reassembler } from '@opg/protocol'
import { BleError, type BleSession, type BleSessionEnd } from './ble.js'

/** What a session needs from the connection under it. */
export interface SessionLink {
  readonly peer: string
  /** Current ATT MTU. */
  mtu(): number
  /** Send one chunk as a Server2Client notification; throws BleError 'NOT_SUBSCRIBED' if the wallet is not listening. */
  notifyChunk(chunk: Uint8Array): void
  /** Notify a State value if the wallet subscribed to State (best effort). */
  notifyState(value: number): void
}

interface Waiter {
  resolve: (m: Uint8Array) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout | undefined
}

/** A BleSession over a SessionLink. The binding feeds it chunks and ends it. */
export class BoxSession implements BleSession {
  readonly id: number
  readonly peer: string
  readonly ended: Promise<BleSessionEnd>
  #link: SessionLink
  #reassembler: Reassembler
  #queue: Uint8Array[] = []
  #waiters: Waiter[] = []
  #failure: Error | undefined
  #end: BleSessionEnd | undefined
  #resolveEnded!: (e: BleSessionEnd) => void
  #abort = new AbortController()

  constructor(id: number, link: SessionLink, maxMessageSize: number | undefined) {
    this.id = id
    this.peer = link.peer
    this.#link = link
    this.#reassembler = new Reassembler({ maxMessageSize })
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve
    })
  }

  get mtu(): number {
    return this.#link.mtu()
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  /** True once the session has ended. */
  get isEnded(): boolean {
    return this.#end !== undefined
  }

  /** A Client2Server chunk arrived. Bad framing ends the session with 'protocol_error' and tells the wallet. */
  onChunk(chunk: Uint8Array): void {
    if (this.#end) return
    let message: Uint8Array | undefined
    try {
      message = this.#reassembler.push(chunk)
    } catch (err) {
      const error = err as ProtocolError
      this.#link.notifyState(BLE_STATE.end)
      this.end({ reason: 'protocol_error', error })
      return
    }
    if (message) this.#deliver(message)
  }

  /**
   * A whole message that arrived outside the chunk framing (carried by the State start write). Held to the
   * same size limit as a reassembled one: past it the session ends with 'oversized', as for chunks.
   */
  onMessage(message: Uint8Array): void {
    if (this.#end) return
    if (message.length > this.#reassembler.maxMessageSize) {
      this.#link.notifyState(BLE_STATE.end)
      const error = new ProtocolError(
        'oversized',
        `BLE message exceeds ${this.#reassembler.maxMessageSize} bytes`,
      )
      this.end({ reason: 'protocol_error', error })
      return
    }
    this.#deliver(message)
  }

  #deliver(message: Uint8Array): void {
    const waiter = this.#waiters.shift()
    if (waiter) {
      clearTimeout(waiter.timer)
      waiter.resolve(message)
    } else {
      this.#queue.push(message)
    }
  }

  receive(timeoutMs?: number): Promise<Uint8Array> {
    const next = this.#queue.shift()
    if (next) return Promise.resolve(next)
    if (this.#end) return Promise.reject(this.#takeFailure())
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined }
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          reject(new ProtocolError('timeout', `no BLE message within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.#waiters.push(waiter)
    })
  }

  async send(message: Uint8Array): Promise<void> {
    if (this.#end) throw new BleError('SESSION_CLOSED', `session ended (${this.#end.reason})`)
    for (const chunk of chunkMessage(message, this.#link.mtu())) this.#link.notifyChunk(chunk)
  }

  async close(): Promise<void> {
    if (this.#end) return
    this.#link.notifyState(BLE_STATE.end)
    this.end({ reason: 'ended_by_box' })
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      try {
        yield await this.receive()
      } catch (err) {
        if (err instanceof BleError && err.code === 'SESSION_CLOSED') return
        throw err
      }
    }
  }

  /** End the session once; pending receives reject, partial messages are dropped. */
  end(end: BleSessionEnd): void {
    if (this.#end) return
    this.#end = end
    this.#reassembler.reset()
    this.#failure = end.error
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer)
      w.reject(this.#takeFailure())
    }
    this.#abort.abort(new BleError('SESSION_CLOSED', `session ended (${end.reason})`))
    this.#resolveEnded(end)
  }

  /** The framing error once (so the handler sees why), then SESSION_CLOSED. */
  #takeFailure(): Error {
    const failure = this.#failure
    this.#failure = undefined
    return failure ?? new BleError('SESSION_CLOSED', `session ended (${this.#end?.reason})`)
  }
}
