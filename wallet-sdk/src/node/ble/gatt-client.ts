/**
 * The wallet's side of the BLE payment channel as a message transport: find the box advertising
 * `OPG <deviceTag>`, open a session (State ← 0x01) and move whole messages; chunking to the MTU and
 * reassembly happen here, the bytes stay opaque. `gattChannel` adapts it to the core's BleMessageChannel.
 */
import type { BleMessageChannel } from '../../core/ble-pay.js'

/** Stable codes of GattError. */
export type GattErrorCode =
  /** The BLE stack could not be loaded or the adapter is off / unsupported. */
  | 'UNAVAILABLE'
  /** connect() before start(), or after stop(). */
  | 'NOT_STARTED'
  /** No box advertising that tag was found in time. */
  | 'NOT_FOUND'
  /** Found, but connecting or setting up the session failed or took too long. */
  | 'CONNECT_FAILED'
  /** The link dropped during the session. */
  | 'DISCONNECTED'
  /** The box ended the session (State notification 0x02), e.g. after bad framing. */
  | 'ENDED_BY_BOX'
  /** The session was closed by this side. */
  | 'SESSION_CLOSED'
  /** A session is already open on this client. */
  | 'BUSY'

/** Errors of the wallet's GATT transport, with a stable `code`. */
export class GattError extends Error {
  override readonly name = 'GattError'
  readonly code: GattErrorCode
  constructor(code: GattErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Options of GattClient.connect. */
export interface ConnectOptions {
  /** Time for scan + connect + session setup (default 10 s). */
  timeoutMs?: number
  /**
   * Start the session with the first send() instead of in connect(), carrying that message in the State
   * write (`0x01 || message`) when it fits one ATT value (MTU − 3 bytes); a longer one follows a plain
   * State 0x01 as chunks. Saves a write and a round trip: the payment's WalletHello rides the start.
   * Default false for connect(), true for gattChannel().
   */
  startWithFirstMessage?: boolean
}

/** One session with one box. */
export interface GattSession {
  readonly deviceTag: string
  /** The box's BLE address. */
  readonly address: string
  /** ATT MTU of the link; chunks are at most mtu − 3 bytes. */
  readonly mtu: number
  /** The box's Ident characteristic value. */
  readonly ident: Uint8Array
  /** Send one whole message. Rejects with GattError once the session is over. */
  send(message: Uint8Array): Promise<void>
  /**
   * The next whole message. Rejects with ProtocolError 'timeout' after `timeoutMs`, with ProtocolError on bad
   * framing from the box, and with GattError ('DISCONNECTED', 'ENDED_BY_BOX', 'SESSION_CLOSED') when it is over.
   */
  receive(timeoutMs?: number): Promise<Uint8Array>
  /** End the session (State ← 0x02) and drop the link. Safe to call twice. */
  close(): Promise<void>
}

/** Finds boxes by tag and opens sessions: real (`NobleGattClient`) or any other BLE stack. */
export interface GattClient {
  /** Power the adapter on. */
  start(signal?: AbortSignal): Promise<void>
  /** Close any session, stop scanning, release the adapter; removes every timer and listener. */
  stop(): Promise<void>
  /** Scan for `OPG <deviceTag>`, connect and start a session. */
  connect(deviceTag: string, options?: ConnectOptions): Promise<GattSession>
}

/** A BleMessageChannel (for payOverBle) that connects to `deviceTag` on open(). */
export function gattChannel(
  client: GattClient,
  deviceTag: string,
  options: ConnectOptions & { receiveTimeoutMs?: number } = {},
): BleMessageChannel {
  let session: GattSession | undefined
  const current = (): GattSession => {
    if (!session) throw new GattError('SESSION_CLOSED', 'channel is not open')
    return session
  }
  return {
    async open() {
      session = await client.connect(deviceTag, { startWithFirstMessage: true, ...options })
    },
    send: (message) => current().send(message),
    receive: () => current().receive(options.receiveTimeoutMs ?? 10_000),
    async close() {
      const s = session
      session = undefined
      await s?.close()
    },
  }
}
