/**
 * One open session with a box over noble: Server2Client notifications are reassembled into messages,
 * outgoing messages are chunked to MTU − 3 and written without response, and the session ends exactly once —
 * on close(), on a State 0x02 notification from the box, or when the link drops.
 */
import { BLE_STATE, chunkMessage, ProtocolError, Reassembler, sessionStartWrite } from '@opg/protocol'
import { GattError, type GattSession } from './gatt-client.js'

type Callback = (...args: never[]) => void

/** The part of a noble Characteristic used here. */
export interface NobleCharacteristic {
  readonly uuid: string
  subscribeAsync(): Promise<void>
  readAsync(): Promise<Buffer>
  writeAsync(data: Buffer, withoutResponse: boolean): Promise<void>
  on(event: string, listener: Callback): unknown
  removeListener(event: string, listener: Callback): unknown
}

/** The part of a noble Peripheral used here. */
export interface NoblePeripheral {
  readonly address: string
  readonly state: string
  readonly mtu: number | null
  readonly advertisement: { localName?: string }
  connectAsync(): Promise<void>
  cancelConnect(): void
  disconnectAsync(): Promise<void>
  discoverSomeServicesAndCharacteristicsAsync(
    services: string[],
    characteristics: string[],
  ): Promise<{ characteristics: NobleCharacteristic[] }>
  once(event: string, listener: Callback): unknown
  on(event: string, listener: Callback): unknown
  removeListener(event: string, listener: Callback): unknown
}

/** The discovered parts of the payment service. */
export interface SessionParts {
  peripheral: NoblePeripheral
  deviceTag: string
  state: NobleCharacteristic
  client2Server: NobleCharacteristic
  server2Client: NobleCharacteristic
}

interface Waiter {
  resolve: (m: Uint8Array) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout | undefined
}

/** GattSession on noble. */
export class NobleGattSession implements GattSession {
  readonly deviceTag: string
  readonly address: string
  ident: Uint8Array = new Uint8Array(0)
  #parts: SessionParts
  #reassembler: Reassembler
  #queue: Uint8Array[] = []
  #waiters: Waiter[] = []
  #error: Error | undefined
  #closed: GattError | undefined
  #released = false
  /** The State 0x01 write is still to come, with the first send (see ConnectOptions.startWithFirstMessage). */
  #startPending = false
  #endedP: Promise<never>
  #rejectEnded!: (e: GattError) => void
  #onData: Callback
  #onState: Callback
  #onDisconnect: Callback

  constructor(parts: SessionParts, maxMessageSize?: number) {
    this.#parts = parts
    this.deviceTag = parts.deviceTag
    this.address = parts.peripheral.address
    this.#reassembler = new Reassembler({ maxMessageSize })
    this.#endedP = new Promise<never>((_, reject) => {
      this.#rejectEnded = reject
    })
    this.#endedP.catch(() => undefined)
    this.#onData = ((data: Buffer) => this.#onChunk(data)) as Callback
    this.#onState = ((data: Buffer) => {
      if (data[0] === BLE_STATE.end) this.#finish(new GattError('ENDED_BY_BOX', 'the box ended the session'))
    }) as Callback
    this.#onDisconnect = (() =>
      this.#finish(new GattError('DISCONNECTED', 'the link to the box dropped'))) as Callback
    parts.server2Client.on('data', this.#onData)
    parts.state.on('data', this.#onState)
    parts.peripheral.on('disconnect', this.#onDisconnect)
  }

  get mtu(): number {
    return this.#parts.peripheral.mtu ?? 23
  }

  /** True once the session has ended. */
  get isClosed(): boolean {
    return this.#closed !== undefined
  }

  async send(message: Uint8Array): Promise<void> {
    if (this.#startPending) {
      this.#startPending = false
      // 0x01 || message when it fits one ATT value; otherwise a plain start and the message as chunks.
      const value = sessionStartWrite(message, this.mtu)
      await this.#writeState(Buffer.from(value.buffer, value.byteOffset, value.byteLength))
      if (value.length === 1 + message.length) return
    }
    for (const chunk of chunkMessage(message, this.mtu)) await this.writeChunk(chunk)
  }

  /** Leave the session start (State 0x01) to the first send(), which may carry its message in it. */
  deferStart(): void {
    this.#startPending = true
  }

  /** Write State with response: the box acknowledges the start before the wallet waits for its answer. */
  async #writeState(value: Buffer): Promise<void> {
    if (this.#closed) throw this.#closed
    await Promise.race([this.#parts.state.writeAsync(value, false), this.#endedP])
  }

  /**
   * Write one raw Client2Server chunk (no framing added): send() uses it; diagnostics and tests use it to put
   * arbitrary bytes on the air. It must not exceed mtu − 3 bytes.
   */
  async writeChunk(chunk: Uint8Array): Promise<void> {
    if (this.#closed) throw this.#closed
    // noble resolves a write-without-response once queued; if the link drops first it never resolves at all.
    await Promise.race([this.#parts.client2Server.writeAsync(Buffer.from(chunk), true), this.#endedP])
  }

  receive(timeoutMs?: number): Promise<Uint8Array> {
    if (this.#startPending) {
      // Nothing sent yet: the box only answers inside a session, so start one.
      this.#startPending = false
      return this.#writeState(Buffer.of(BLE_STATE.start)).then(() => this.receive(timeoutMs))
    }
    const next = this.#queue.shift()
    if (next) return Promise.resolve(next)
    if (this.#error) {
      const error = this.#error
      this.#error = undefined
      return Promise.reject(error)
    }
    if (this.#closed) return Promise.reject(this.#closed)
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined }
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          reject(new ProtocolError('timeout', `no message from the box within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.#waiters.push(waiter)
    })
  }

  async close(): Promise<void> {
    if (this.#released) return
    this.#released = true
    const wasOpen = !this.#closed
    this.#finish(new GattError('SESSION_CLOSED', 'session closed'))
    const p = this.#parts.peripheral
    // Even when the box ended the session the link stays up until the wallet drops it, and the box cannot
    // advertise to anyone else meanwhile.
    if (p.state !== 'connected') return
    if (wasOpen) await bounded(this.#parts.state.writeAsync(Buffer.from([BLE_STATE.end]), false), 2_000)
    await bounded(p.disconnectAsync(), 2_000)
  }

  /** Remove every listener without touching the link (session setup failed). */
  detach(): void {
    this.#finish(new GattError('SESSION_CLOSED', 'session setup failed'))
  }

  #onChunk(data: Buffer): void {
    if (this.#closed) return
    let message: Uint8Array | undefined
    try {
      message = this.#reassembler.push(new Uint8Array(data))
    } catch (err) {
      this.#deliverError(err as ProtocolError)
      return
    }
    if (!message) return
    const waiter = this.#waiters.shift()
    if (waiter) {
      clearTimeout(waiter.timer)
      waiter.resolve(message)
    } else {
      this.#queue.push(message)
    }
  }

  #deliverError(error: Error): void {
    const waiter = this.#waiters.shift()
    if (waiter) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
    } else {
      this.#error = error
    }
  }

  /** End once: drop listeners and the partial message, fail waiters; messages already whole stay readable. */
  #finish(reason: GattError): void {
    if (this.#closed) return
    this.#closed = reason
    this.#reassembler.reset()
    const { peripheral, state, server2Client } = this.#parts
    server2Client.removeListener('data', this.#onData)
    state.removeListener('data', this.#onState)
    peripheral.removeListener('disconnect', this.#onDisconnect)
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer)
      w.reject(reason)
    }
    this.#rejectEnded(reason)
  }
}

/** Wait for `op` at most `ms`, ignoring its failure (best-effort goodbyes on a link that may be gone). */
export async function bounded(op: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([op, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).catch(() => undefined)
  clearTimeout(timer)
}
