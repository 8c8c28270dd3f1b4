/**
 * The real BLE binding: @abandonware/bleno as GATT server over the Pi's HCI adapter. bleno is loaded on
 * start(), not at import, because it opens the adapter while loading and throws on a kernel without Bluetooth.
 * bleno is a process-wide singleton, so one BlenoBleBinding per process, started once.
 */
import { createRequire } from 'node:module'
import { BLE_UUIDS } from '@opg/protocol'
import {
  advertisedName,
  type BleBinding,
  type BleBindingOptions,
  BleError,
  type BleSessionHandler,
} from './ble.js'
import { BoxGattServer, type NotifyingCharacteristic } from './box-gatt.js'

type Callback = (...args: never[]) => void

/** The part of bleno this binding uses (its module export is a Bleno instance). */
export interface BlenoLike {
  readonly state: string
  Characteristic: new (options: Record<string, unknown>) => unknown
  PrimaryService: new (options: { uuid: string; characteristics: unknown[] }) => unknown
  setServices(services: unknown[], callback?: (error?: Error | null) => void): void
  startAdvertising(name: string, serviceUuids: string[], callback?: (error?: Error | null) => void): void
  stopAdvertising(callback?: () => void): void
  disconnect(): void
  on(event: string, listener: Callback): unknown
  once(event: string, listener: Callback): unknown
  removeListener(event: string, listener: Callback): unknown
}

/** Options of BlenoBleBinding. */
export interface BlenoBleBindingOptions extends BleBindingOptions {
  /** Loads bleno; default `require('@abandonware/bleno')`. Tests load it over a virtual HCI instead. */
  loadBleno?: () => BlenoLike
  /** How long start() waits for the adapter to power on and advertising to begin (default 10 s). */
  startTimeoutMs?: number
}

/** Internals reached on stop(): bleno polls the adapter every second forever and never closes its socket. */
interface BlenoInternals {
  _bindings?: { _hci?: { pollIsDevUp?: () => void; _socket?: { stop?: () => void } } }
}

function defaultLoad(): BlenoLike {
  return createRequire(import.meta.url)('@abandonware/bleno') as BlenoLike
}

/** BleBinding on bleno. */
export class BlenoBleBinding implements BleBinding {
  #opts: BlenoBleBindingOptions
  #bleno: BlenoLike | undefined
  #server: BoxGattServer | undefined
  #listeners: Array<[string, Callback]> = []
  #state: 'idle' | 'started' | 'released' = 'idle'
  #onAbort: (() => void) | undefined
  #signal: AbortSignal | undefined

  constructor(options: BlenoBleBindingOptions) {
    this.#opts = options
  }

  async start(handler: BleSessionHandler, signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'idle')
      throw new BleError('UNAVAILABLE', `binding is ${this.#state}; bleno starts once per process`)
    const uuids = this.#opts.profile?.uuids ?? BLE_UUIDS
    const name = advertisedName(this.#opts.deviceTag, this.#opts.profile?.namePrefix)
    let bleno: BlenoLike
    try {
      bleno = (this.#opts.loadBleno ?? defaultLoad)()
    } catch (cause) {
      throw new BleError('UNAVAILABLE', 'cannot load bleno (no Bluetooth adapter?)', { cause })
    }
    this.#bleno = bleno
    this.#state = 'started'
    const onError = this.#opts.onError ?? (() => {})
    const server = new BoxGattServer({
      handler,
      ident: this.#opts.ident ?? new TextEncoder().encode(this.#opts.deviceTag),
      maxMessageSize: this.#opts.maxMessageSize,
      idleTimeoutMs: this.#opts.idleTimeoutMs,
      onError,
      dropLink: () => bleno.disconnect(),
    })
    this.#server = server
    this.#listen('accept', (peer: string) => server.accept(peer))
    this.#listen('disconnect', () => server.disconnect())
    this.#listen('mtuChange', (mtu: number) => server.setMtu(mtu))
    try {
      await this.#within(this.#poweredOn(), 'adapter did not power on')
      await this.#within(
        this.#callback('servicesSet', 'servicesSetError', (cb) =>
          bleno.setServices([this.#service(bleno, server)], cb),
        ),
        'services not set',
      )
      await this.#within(
        this.#callback('advertisingStart', 'advertisingStartError', (cb) =>
          bleno.startAdvertising(name, [uuids.service], cb),
        ),
        'advertising did not start',
      )
    } catch (err) {
      await this.stop()
      throw err
    }
    if (signal) {
      this.#signal = signal
      this.#onAbort = () => void this.stop()
      signal.addEventListener('abort', this.#onAbort, { once: true })
    }
  }

  async stop(): Promise<void> {
    if (this.#state !== 'started') return
    this.#state = 'released'
    if (this.#onAbort) this.#signal?.removeEventListener('abort', this.#onAbort)
    const bleno = this.#bleno
    this.#server?.stop()
    if (!bleno) return
    for (const [event, fn] of this.#listeners.splice(0)) bleno.removeListener(event, fn)
    if (bleno.state === 'poweredOn') {
      bleno.stopAdvertising()
      bleno.disconnect()
    }
    // Without this the process never exits: bleno re-arms a 1 s adapter poll and keeps its HCI socket open.
    const hci = (bleno as BlenoInternals)._bindings?._hci
    if (hci) {
      hci.pollIsDevUp = () => {}
      hci._socket?.stop?.()
    }
  }

  #service(bleno: BlenoLike, server: BoxGattServer): unknown {
    const uuids = this.#opts.profile?.uuids ?? BLE_UUIDS
    const C = bleno.Characteristic
    const subscribe = (which: NotifyingCharacteristic) => ({
      onSubscribe: (max: number, send: (b: Buffer) => void) => server.subscribe(which, max, send),
      onUnsubscribe: () => server.unsubscribe(which),
    })
    const characteristics = [
      new C({
        uuid: uuids.state,
        properties: ['write', 'writeWithoutResponse', 'notify'],
        onWriteRequest: (data: Buffer, offset: number, _w: boolean, cb: (r: number) => void) =>
          cb(server.writeState(data, offset)),
        ...subscribe('state'),
      }),
      new C({
        uuid: uuids.client2Server,
        properties: ['write', 'writeWithoutResponse'],
        onWriteRequest: (data: Buffer, offset: number, _w: boolean, cb: (r: number) => void) =>
          cb(server.writeClient2Server(data, offset)),
      }),
      new C({ uuid: uuids.server2Client, properties: ['notify'], ...subscribe('server2Client') }),
      new C({
        uuid: uuids.ident,
        properties: ['read'],
        onReadRequest: (offset: number, cb: (r: number, d?: Buffer) => void) => {
          const { result, data } = server.readIdent(offset)
          cb(result, data)
        },
      }),
    ]
    return new bleno.PrimaryService({ uuid: uuids.service, characteristics })
  }

  #listen(event: string, fn: Callback): void {
    this.#bleno?.on(event, fn)
    this.#listeners.push([event, fn])
  }

  /** Resolve on poweredOn; fail on states that will not recover. Adding the listener makes bleno open the adapter. */
  #poweredOn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onState = (state: string) => {
        if (state === 'poweredOn') resolve()
        else if (state === 'unsupported' || state === 'unauthorized') {
          reject(new BleError('UNAVAILABLE', `Bluetooth adapter is ${state}`))
        }
      }
      this.#listen('stateChange', onState)
      if (this.#bleno?.state === 'poweredOn') resolve()
    })
  }

  #callback(ok: string, fail: string, run: (cb: (error?: Error | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const onFail = (error: Error) => reject(new BleError('UNAVAILABLE', `bleno: ${fail}`, { cause: error }))
      this.#bleno?.once(fail, onFail)
      run((error) => {
        this.#bleno?.removeListener(fail, onFail)
        if (error) reject(new BleError('UNAVAILABLE', `bleno: ${ok} failed`, { cause: error }))
        else resolve()
      })
    })
  }

  #within<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.#opts.startTimeoutMs ?? 10_000
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BleError('UNAVAILABLE', `${what} within ${ms} ms`)), ms)
    })
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
  }
}
