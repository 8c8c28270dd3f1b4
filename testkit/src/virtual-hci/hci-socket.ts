/**
 * A stand-in for `@abandonware/bluetooth-hci-socket`: same methods and events, but the "adapter" is a virtual
 * controller on a VirtualRadio reached over its unix socket. A control (mgmt) socket is accepted and ignored.
 */
import { EventEmitter } from 'node:events'
import net from 'node:net'
import { encodeFrame, FrameDecoder } from './hci-packets.js'

/** Where a socket class's controllers attach, and how they introduce themselves. */
export interface VirtualHciSocketConfig {
  /** The radio's unix socket path. */
  radioPath: string
  /** BD address of this process's controller ("aa:bb:cc:dd:ee:ff"); the radio picks one if absent. */
  address?: string
  /** A label shown in the radio's controller list. */
  name?: string
}

/** The constructor bleno and noble call as `new BluetoothHciSocket()`. */
export type VirtualHciSocketClass = new () => VirtualHciSocket

/** The instance surface of a bluetooth-hci-socket, backed by the radio. */
export interface VirtualHciSocket extends EventEmitter {
  getDeviceList(): Array<{
    devId: number
    devUp: boolean
    idVendor: null
    idProduct: null
    busNumber: null
    deviceAddress: null
  }>
  isDevUp(): boolean
  bindRaw(devId?: number): number
  bindUser(devId?: number): number
  bindControl(): number
  setFilter(filter: Buffer): void
  start(): void
  stop(): void
  reset(): void
  write(data: Buffer): void
}

/**
 * Make a socket class whose every raw/user-channel instance is a controller on the radio at `config.radioPath`.
 * `track` sees each instance, so the owner can stop them all.
 */
export function createVirtualHciSocketClass(
  config: VirtualHciSocketConfig,
  track: (s: VirtualHciSocket) => void = () => {},
): VirtualHciSocketClass {
  class Socket extends EventEmitter implements VirtualHciSocket {
    #mode: 'none' | 'hci' | 'control' = 'none'
    #devId = 0
    #conn: net.Socket | undefined
    #stopped = false

    constructor() {
      super()
      track(this)
    }

    getDeviceList() {
      return [
        { devId: 0, devUp: true, idVendor: null, idProduct: null, busNumber: null, deviceAddress: null },
      ]
    }

    isDevUp(): boolean {
      return !this.#stopped
    }

    bindRaw(devId?: number): number {
      this.#mode = 'hci'
      this.#devId = devId ?? 0
      return this.#devId
    }

    bindUser(devId?: number): number {
      return this.bindRaw(devId)
    }

    bindControl(): number {
      this.#mode = 'control'
      return 0
    }

    setFilter(_filter: Buffer): void {}

    reset(): void {}

    start(): void {
      if (this.#mode !== 'hci' || this.#conn || this.#stopped) return
      const conn = net.connect(config.radioPath)
      this.#conn = conn
      const decoder = new FrameDecoder()
      conn.on('data', (data) => {
        for (const frame of decoder.push(data)) this.emit('data', Buffer.from(frame))
      })
      conn.on('error', (err) => {
        if (!this.#stopped) this.emit('error', err)
      })
      const hello = Buffer.from(JSON.stringify({ address: config.address, name: config.name }), 'utf8')
      conn.write(encodeFrame(Buffer.concat([Buffer.from([0xff]), hello])))
    }

    stop(): void {
      this.#stopped = true
      // end(), not destroy(): commands written just before stop (advertising off, disconnect) still go out.
      this.#conn?.end()
      this.#conn = undefined
    }

    write(data: Buffer): void {
      // bleno and noble write from their exit handlers too; after stop() that is a no-op, as on a closed socket.
      if (this.#mode !== 'hci' || !this.#conn || this.#stopped) return
      this.#conn.write(encodeFrame(Buffer.from(data)))
    }
  }
  return Socket
}
