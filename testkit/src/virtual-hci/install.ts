/**
 * Puts the virtual HCI socket in place of `@abandonware/bluetooth-hci-socket` for this process, by seeding
 * Node's CommonJS module cache at the exact path bleno and noble resolve it to. Call it before anything
 * loads bleno or noble; afterwards their real code runs unchanged on the virtual radio.
 */
import Module, { createRequire } from 'node:module'
import { dirname } from 'node:path'
import {
  createVirtualHciSocketClass,
  type VirtualHciSocket,
  type VirtualHciSocketConfig,
} from './hci-socket.js'

const HCI_SOCKET = '@abandonware/bluetooth-hci-socket'
const USERS = ['@abandonware/bleno', '@abandonware/noble']

/** Options of installVirtualHci. */
export interface InstallVirtualHciOptions extends VirtualHciSocketConfig {
  /** HCI device id reported to bleno/noble (BLENO_HCI_DEVICE_ID / NOBLE_HCI_DEVICE_ID); default 0. */
  deviceId?: number
}

/** What installVirtualHci returns: close() stops every virtual socket so the process can exit. */
export interface VirtualHciInstallation {
  readonly sockets: readonly VirtualHciSocket[]
  close(): void
}

/** Thrown when the virtual HCI cannot be put in place. */
export class VirtualHciError extends Error {
  override readonly name = 'VirtualHciError'
  readonly code: 'already_loaded' | 'user_channel'
  constructor(code: 'already_loaded' | 'user_channel', message: string) {
    super(message)
    this.code = code
  }
}

/** Seed the module cache so bleno and noble load the virtual socket. */
export function installVirtualHci(options: InstallVirtualHciOptions): VirtualHciInstallation {
  // With HCI_CHANNEL_USER noble resets the controller and never reads the LE buffer size, so its first ACL
  // write waits forever and the process exits 0 with nothing done: refuse instead of hanging.
  if (process.env.HCI_CHANNEL_USER) {
    throw new VirtualHciError(
      'user_channel',
      'unset HCI_CHANNEL_USER: the virtual radio needs the raw-channel path',
    )
  }
  const require = createRequire(import.meta.url)
  const sockets: VirtualHciSocket[] = []
  const SocketClass = createVirtualHciSocketClass(options, (s) => sockets.push(s))
  const targets = new Set<string>()
  for (const user of USERS) {
    let pkg: string
    try {
      pkg = require.resolve(`${user}/package.json`)
    } catch {
      continue // not installed here: nothing will load it
    }
    if (Object.keys(require.cache).some((p) => p.startsWith(`${dirname(pkg)}/lib/`))) {
      throw new VirtualHciError('already_loaded', `${user} was loaded before installVirtualHci()`)
    }
    targets.add(createRequire(pkg).resolve(HCI_SOCKET))
  }
  for (const path of targets) {
    const m = new Module(path)
    m.filename = path
    m.loaded = true
    m.exports = SocketClass
    require.cache[path] = m
  }
  const id = String(options.deviceId ?? 0)
  process.env.BLENO_HCI_DEVICE_ID ??= id
  process.env.NOBLE_HCI_DEVICE_ID ??= id
  return {
    sockets,
    close() {
      for (const s of sockets) s.stop()
    },
  }
}
