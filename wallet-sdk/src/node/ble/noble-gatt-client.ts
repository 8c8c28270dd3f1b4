/**
 * GattClient on @abandonware/noble (Linux HCI, macOS, Windows). noble is loaded on start(), not at import,
 * because loading it opens the adapter. noble always asks for ATT MTU 256 and sends a write-without-response
 * as one PDU whatever its size, so every Client2Server write here is a chunk of at most MTU − 3 bytes.
 */
import { createRequire } from 'node:module'
import { BLE_STATE, BLE_UUIDS } from '@opg/protocol'
import { type ConnectOptions, type GattClient, GattError, type GattSession } from './gatt-client.js'
import { bounded, type NobleCharacteristic, NobleGattSession, type NoblePeripheral } from './noble-session.js'

type Callback = (...args: never[]) => void

/** The part of noble this client uses (its module export is a Noble instance). */
export interface NobleLike {
  readonly state: string
  startScanningAsync(serviceUuids: string[], allowDuplicates: boolean): Promise<void>
  stopScanningAsync(): Promise<void>
  on(event: string, listener: Callback): unknown
  removeListener(event: string, listener: Callback): unknown
}

/** Options of NobleGattClient. */
export interface NobleGattClientOptions {
  /** Loads noble; default `require('@abandonware/noble')`. Tests load it over a virtual HCI instead. */
  loadNoble?: () => NobleLike
  /** How long start() waits for the adapter to power on (default 10 s). */
  startTimeoutMs?: number
  /** Largest message accepted from a box (default 4096). */
  maxMessageSize?: number
  /**
   * The service to look for: the payment service (default) or another with its layout, such as the box's
   * provisioning service (`BLE_PROVISION_UUIDS`, advertised as `OPGS <tag>`).
   */
  profile?: { uuids: typeof BLE_UUIDS | { [K in keyof typeof BLE_UUIDS]: string }; namePrefix: string }
  /** noble's own warnings (unknown handles and the like); silent by default. */
  onWarning?: (message: string) => void
}

/** Internals reached on stop(): noble polls the adapter every second forever and never closes its socket. */
interface NobleInternals {
  _bindings?: { _hci?: { pollIsDevUp?: () => void; _socket?: { stop?: () => void } } }
}

/** GattClient on noble. One session at a time. */
export class NobleGattClient implements GattClient {
  #opts: NobleGattClientOptions
  #noble: NobleLike | undefined
  #state: 'idle' | 'started' | 'stopped' = 'idle'
  #session: NobleGattSession | undefined
  #onWarning: Callback | undefined

  constructor(options: NobleGattClientOptions = {}) {
    this.#opts = options
  }

  async start(_signal?: AbortSignal): Promise<void> {
    if (this.#state === 'started') return
    if (this.#state === 'stopped')
      throw new GattError('UNAVAILABLE', 'noble was released by stop(); it starts once per process')
    let noble: NobleLike
    try {
      noble = (
        this.#opts.loadNoble ?? (() => createRequire(import.meta.url)('@abandonware/noble') as NobleLike)
      )()
    } catch (cause) {
      throw new GattError('UNAVAILABLE', 'cannot load noble (no Bluetooth adapter?)', { cause })
    }
    this.#noble = noble
    this.#state = 'started'
    this.#onWarning = ((message: string) => this.#opts.onWarning?.(message)) as Callback
    noble.on('warning', this.#onWarning)
    try {
      await this.#poweredOn(noble)
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async stop(): Promise<void> {
    if (this.#state !== 'started') return
    this.#state = 'stopped'
    const noble = this.#noble
    await this.#session?.close()
    this.#session = undefined
    if (!noble) return
    if (this.#onWarning) noble.removeListener('warning', this.#onWarning)
    if (noble.state === 'poweredOn') await noble.stopScanningAsync().catch(() => undefined)
    // Without this the process never exits: noble re-arms a 1 s adapter poll and keeps its HCI socket open.
    const hci = (noble as NobleInternals)._bindings?._hci
    if (hci) {
      hci.pollIsDevUp = () => {}
      hci._socket?.stop?.()
    }
  }

  async connect(deviceTag: string, options: ConnectOptions = {}): Promise<GattSession> {
    const noble = this.#noble
    if (this.#state !== 'started' || !noble)
      throw new GattError('NOT_STARTED', 'NobleGattClient is not started')
    if (this.#session && !this.#session.isClosed) throw new GattError('BUSY', 'a session is already open')
    const deadline = Date.now() + (options.timeoutMs ?? 10_000)
    const peripheral = await this.#find(noble, deviceTag, deadline)
    const session = await this.#open(peripheral, deviceTag, deadline, options.startWithFirstMessage ?? false)
    this.#session = session
    return session
  }

  get #uuids() {
    return this.#opts.profile?.uuids ?? BLE_UUIDS
  }

  /** Scan for the service until a device named `OPG <tag>` (or the profile's prefix) answers. */
  async #find(noble: NobleLike, deviceTag: string, deadline: number): Promise<NoblePeripheral> {
    const name = `${this.#opts.profile?.namePrefix ?? 'OPG'} ${deviceTag}`
    let onDiscover: Callback | undefined
    let timer: NodeJS.Timeout | undefined
    try {
      const found = new Promise<NoblePeripheral>((resolve, reject) => {
        onDiscover = ((p: NoblePeripheral) => {
          if (p.advertisement.localName === name) resolve(p)
        }) as Callback
        noble.on('discover', onDiscover)
        timer = setTimeout(
          () => reject(new GattError('NOT_FOUND', `no box advertising "${name}"`)),
          Math.max(0, deadline - Date.now()),
        )
      })
      found.catch(() => undefined) // awaited below; do not let an early timeout count as unhandled
      await noble.startScanningAsync([this.#uuids.service], false).catch((cause: unknown) => {
        throw new GattError('UNAVAILABLE', 'cannot scan', { cause })
      })
      return await found
    } finally {
      clearTimeout(timer)
      if (onDiscover) noble.removeListener('discover', onDiscover)
      await noble.stopScanningAsync().catch(() => undefined)
    }
  }

  /** Connect, discover the service, subscribe, read Ident and start the session (State ← 0x01), or leave the start to the first send. */
  async #open(
    p: NoblePeripheral,
    deviceTag: string,
    deadline: number,
    startWithFirstMessage: boolean,
  ): Promise<NobleGattSession> {
    let dropped: (() => void) | undefined
    const lost = new Promise<never>((_, reject) => {
      dropped = () => reject(new GattError('DISCONNECTED', 'link dropped during session setup'))
    })
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new GattError('CONNECT_FAILED', 'session setup timed out')),
        Math.max(0, deadline - Date.now()),
      )
    })
    const step = <T>(op: Promise<T>) => Promise.race([op, lost, late])
    const uuids = this.#uuids
    const CHARACTERISTICS = [uuids.state, uuids.client2Server, uuids.server2Client, uuids.ident]
    try {
      await step(p.connectAsync())
      p.once('disconnect', dropped as Callback)
      const { characteristics } = await step(
        p.discoverSomeServicesAndCharacteristicsAsync([uuids.service], CHARACTERISTICS),
      )
      const by = new Map(characteristics.map((c) => [c.uuid, c]))
      const get = (uuid: string): NobleCharacteristic => {
        const c = by.get(uuid)
        if (!c) throw new GattError('CONNECT_FAILED', `box lacks characteristic ${uuid}`)
        return c
      }
      const session = new NobleGattSession(
        {
          peripheral: p,
          deviceTag,
          state: get(uuids.state),
          client2Server: get(uuids.client2Server),
          server2Client: get(uuids.server2Client),
        },
        this.#opts.maxMessageSize,
      )
      try {
        await step(get(uuids.server2Client).subscribeAsync())
        await step(get(uuids.state).subscribeAsync())
        session.ident = new Uint8Array(await step(get(uuids.ident).readAsync()))
        if (startWithFirstMessage) session.deferStart()
        else await step(get(uuids.state).writeAsync(Buffer.from([BLE_STATE.start]), false))
      } catch (err) {
        session.detach()
        throw err
      }
      return session
    } catch (cause) {
      if (p.state === 'connected') await bounded(p.disconnectAsync(), 2_000)
      // A Create Connection still pending would hold noble's connection queue for every later connect.
      else if (p.state === 'connecting') p.cancelConnect()
      if (cause instanceof GattError) throw cause
      throw new GattError('CONNECT_FAILED', 'could not open a session with the box', { cause })
    } finally {
      clearTimeout(timer)
      p.removeListener('disconnect', dropped as Callback)
      lost.catch(() => undefined)
      late.catch(() => undefined)
    }
  }

  async #poweredOn(noble: NobleLike): Promise<void> {
    const ms = this.#opts.startTimeoutMs ?? 10_000
    let onState: Callback | undefined
    let timer: NodeJS.Timeout | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        onState = ((state: string) => {
          if (state === 'poweredOn') resolve()
          else if (state === 'unsupported' || state === 'unauthorized')
            reject(new GattError('UNAVAILABLE', `adapter is ${state}`))
        }) as Callback
        // Adding a stateChange listener is what makes noble open the adapter.
        noble.on('stateChange', onState)
        timer = setTimeout(
          () => reject(new GattError('UNAVAILABLE', `adapter not powered on within ${ms} ms`)),
          ms,
        )
        if (noble.state === 'poweredOn') resolve()
      })
    } finally {
      clearTimeout(timer)
      if (onState) noble.removeListener('stateChange', onState)
    }
  }
}
