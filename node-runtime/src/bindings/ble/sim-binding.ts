/**
 * The simulated BLE binding: no radio, no bleno. Tests play the wallet through `connect()`, which returns a
 * SimCentral that writes State and Client2Server, subscribes, reads Ident and collects notifications, all
 * through the same GATT logic (BoxGattServer) the bleno binding uses.
 */
import { BLE_STATE, BLE_UUIDS, chunkMessage, Reassembler } from '@opg/protocol'
import {
  advertisedName,
  type BleBinding,
  type BleBindingOptions,
  BleError,
  type BleSessionHandler,
} from './ble.js'
import { ATT_RESULT, BoxGattServer, type NotifyingCharacteristic } from './box-gatt.js'

/** What the simulated box advertises while started. */
export interface SimAdvertisement {
  localName: string
  serviceUuid: string
}

/** Options of SimCentral connections. */
export interface SimConnectOptions {
  /** The central's address (default "00:00:00:00:00:01"). */
  peer?: string
  /** ATT MTU after exchange (default 185, a common phone value). */
  mtu?: number
  /** Subscribe to Server2Client and State right away, as the wallet does (default true). */
  subscribe?: boolean
}

/** A simulated wallet connected to a SimBleBinding. */
export class SimCentral {
  readonly mtu: number
  /** Every notification received, per characteristic, in order. */
  readonly notifications: Record<NotifyingCharacteristic, Uint8Array[]> = { state: [], server2Client: [] }
  #server: BoxGattServer
  #connected = true
  #reassembler = new Reassembler()
  #read = 0

  constructor(server: BoxGattServer, mtu: number) {
    this.#server = server
    this.mtu = mtu
  }

  get connected(): boolean {
    return this.#connected
  }

  subscribe(which: NotifyingCharacteristic): void {
    this.#server.subscribe(which, this.mtu - 3, (data) => {
      // bleno cuts a notification to mtu − 3 bytes without a word; so does the simulation.
      if (this.#connected) this.notifications[which].push(new Uint8Array(data.subarray(0, this.mtu - 3)))
    })
  }

  /** Write State (0x01 start, 0x02 end); returns the ATT result code. */
  writeState(value: number): number {
    this.#assertConnected()
    return this.#server.writeState(Uint8Array.of(value), 0)
  }

  /** Start a session (State ← 0x01), optionally carrying the session's first message (State ← 0x01 || message). */
  start(first?: Uint8Array): number {
    if (!first) return this.writeState(BLE_STATE.start)
    this.#assertConnected()
    const value = new Uint8Array(1 + first.length)
    value[0] = BLE_STATE.start
    value.set(first, 1)
    return this.#server.writeState(value, 0)
  }

  /** End the session (State ← 0x02). */
  end(): void {
    this.writeState(BLE_STATE.end)
  }

  /** Write one raw Client2Server chunk; returns the ATT result code. */
  writeChunk(chunk: Uint8Array, offset = 0): number {
    this.#assertConnected()
    return this.#server.writeClient2Server(chunk, offset)
  }

  /** Chunk and write a whole message at this connection's MTU. */
  send(message: Uint8Array): void {
    for (const chunk of chunkMessage(message, this.mtu)) {
      const result = this.writeChunk(chunk)
      if (result !== ATT_RESULT.success)
        throw new BleError('NO_SESSION', `write refused (ATT 0x${result.toString(16)})`)
    }
  }

  /** The next whole message the box sent, from notifications not yet consumed; undefined if none is complete. */
  takeMessage(): Uint8Array | undefined {
    const chunks = this.notifications.server2Client
    while (this.#read < chunks.length) {
      const message = this.#reassembler.push(chunks[this.#read++]!)
      if (message) return message
    }
    return undefined
  }

  /** Read Ident from `offset`. */
  readIdent(offset = 0): Uint8Array | undefined {
    return this.#server.readIdent(offset).data
  }

  /** Drop the link, as walking out of range would. */
  disconnect(): void {
    if (!this.#connected) return
    this.#connected = false
    this.#server.disconnect()
  }

  #assertConnected(): void {
    if (!this.#connected) throw new BleError('SESSION_CLOSED', 'simulated central is disconnected')
  }
}

/** BleBinding with no radio, for unit tests of the box. */
export class SimBleBinding implements BleBinding {
  #opts: BleBindingOptions
  #server: BoxGattServer | undefined
  #central: SimCentral | undefined
  #advertisement: SimAdvertisement | undefined
  #abort: { signal: AbortSignal; fn: () => void } | undefined
  /** Errors reported with no session to carry them (also passed to options.onError). */
  readonly errors: Error[] = []

  constructor(options: BleBindingOptions) {
    this.#opts = options
  }

  /** What is being advertised, or undefined when stopped or while a central is connected. */
  get advertisement(): SimAdvertisement | undefined {
    return this.#central?.connected ? undefined : this.#advertisement
  }

  async start(handler: BleSessionHandler, signal?: AbortSignal): Promise<void> {
    const localName = advertisedName(this.#opts.deviceTag)
    this.#server = new BoxGattServer({
      handler,
      ident: this.#opts.ident ?? new TextEncoder().encode(this.#opts.deviceTag),
      maxMessageSize: this.#opts.maxMessageSize,
      idleTimeoutMs: this.#opts.idleTimeoutMs,
      dropLink: () => this.#central?.disconnect(),
      onError: (err) => {
        this.errors.push(err)
        this.#opts.onError?.(err)
      },
    })
    this.#advertisement = { localName, serviceUuid: BLE_UUIDS.service }
    if (signal) {
      this.#abort = { signal, fn: () => void this.stop() }
      signal.addEventListener('abort', this.#abort.fn, { once: true })
    }
  }

  async stop(): Promise<void> {
    this.#abort?.signal.removeEventListener('abort', this.#abort.fn)
    this.#abort = undefined
    this.#server?.stop()
    this.#central?.disconnect()
    this.#server = undefined
    this.#advertisement = undefined
  }

  /** Test hook: a wallet connects (one at a time, like bleno). */
  connect(options: SimConnectOptions = {}): SimCentral {
    const server = this.#server
    if (!server) throw new BleError('NOT_STARTED', 'SimBleBinding is not started')
    if (this.#central?.connected) throw new BleError('UNAVAILABLE', 'a central is already connected')
    server.accept(options.peer ?? '00:00:00:00:00:01')
    const mtu = options.mtu ?? 185
    server.setMtu(mtu)
    const central = new SimCentral(server, mtu)
    if (options.subscribe ?? true) {
      central.subscribe('server2Client')
      central.subscribe('state')
    }
    this.#central = central
    return central
  }
}
