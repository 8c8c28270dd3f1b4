/**
 * The box's BLE payment channel as the rest of the node sees it: a GATT message transport. The box advertises
 * the opg payment service with a short device tag, and for every session a wallet opens (State ← 0x01) the
 * handler gets a BleSession that moves whole messages: chunking, reassembly and MTU are handled below it.
 * The bytes are opaque here; session crypto lives in @opg/protocol and runs on top.
 */
import type { ProtocolError } from '@opg/protocol'

/** Why a session ended. */
export type BleSessionEndReason =
  /** The wallet wrote 0x02 to State. */
  | 'ended_by_peer'
  /** The box called close(). */
  | 'ended_by_box'
  /** The link dropped (out of range, wallet gone) or a new session replaced this one. */
  | 'disconnected'
  /** The wallet sent chunks that break the framing; the box ended the session and told the wallet. */
  | 'protocol_error'
  /** The link carried no traffic for idleTimeoutMs; the box dropped it. */
  | 'idle_timeout'
  /** The binding was stopped. */
  | 'stopped'

/** How a session ended. */
export interface BleSessionEnd {
  reason: BleSessionEndReason
  /** The framing error, when reason is 'protocol_error'. */
  error?: ProtocolError
}

/** One wallet session on one BLE connection. Iterate it (or call receive) for whole messages. */
export interface BleSession extends AsyncIterable<Uint8Array> {
  /** Increasing number, unique within the binding. */
  readonly id: number
  /** The wallet's BLE address as the box saw it. */
  readonly peer: string
  /** ATT MTU of the connection; chunks are at most mtu − 3 bytes. */
  readonly mtu: number
  /** Aborted when the session ends, for work that should stop with it. */
  readonly signal: AbortSignal
  /** Resolves once the session has ended. */
  readonly ended: Promise<BleSessionEnd>
  /**
   * The next whole message. Rejects with ProtocolError on bad framing ('bad_encoding', 'truncated', 'oversized')
   * or 'timeout', and with BleError 'SESSION_CLOSED' once the session has ended.
   */
  receive(timeoutMs?: number): Promise<Uint8Array>
  /** Send one whole message as Server2Client notifications. Rejects with BleError when the session is over. */
  send(message: Uint8Array): Promise<void>
  /** End the session from the box side (State notification 0x02). */
  close(): Promise<void>
}

/** Called once per session; the session ends when the wallet ends it even if the handler has not returned. */
export type BleSessionHandler = (session: BleSession) => void | Promise<void>

/** The BLE binding: real (`BlenoBleBinding`) or simulated (`SimBleBinding`). */
export interface BleBinding {
  /** Advertise as `OPG <deviceTag>` and serve sessions with `handler` until stop(). */
  start(handler: BleSessionHandler, signal?: AbortSignal): Promise<void>
  /** Stop advertising, end any session (reason 'stopped'), drop the link; removes every timer and listener. */
  stop(): Promise<void>
}

/** Options shared by every BleBinding. */
export interface BleBindingOptions {
  /** Short tag in the scan response local name (`OPG <tag>`), so a wallet finds this box among many. */
  deviceTag: string
  /** Value of the Ident characteristic (e.g. the device id); default the tag's UTF-8 bytes. */
  ident?: Uint8Array
  /** Largest message accepted from a wallet (default 4096). */
  maxMessageSize?: number
  /** Drop a link with no traffic for this long, so one idle phone cannot hold the box (default 30 s; 0 = never). */
  idleTimeoutMs?: number
  /**
   * Which GATT service to offer: the payment service (default) or another with the same layout, such as
   * provisioning (`BLE_PROVISION_UUIDS`, advertised as `OPGS <tag>`).
   */
  profile?: GattProfile
  /** Problems that have no session to report to (handler threw, chunks outside a session). */
  onError?: (err: Error) => void
}

/** A GATT service in the payment service's layout: its UUIDs and its advertised name prefix. */
export interface GattProfile {
  uuids: { service: string; state: string; client2Server: string; server2Client: string; ident: string }
  namePrefix: string
}

/** Stable codes of `BleError`. */
export type BleErrorCode =
  | 'UNAVAILABLE'
  | 'NOT_STARTED'
  | 'BAD_TAG'
  | 'SESSION_CLOSED'
  | 'NOT_SUBSCRIBED'
  | 'NO_SESSION'
  | 'HANDLER_FAILED'

/** Errors of the BLE binding, with a stable `code`. */
export class BleError extends Error {
  override readonly name = 'BleError'
  readonly code: BleErrorCode
  constructor(code: BleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Longest tag that keeps `OPG <tag>` inside the 31-byte scan response (2 bytes of AD header, 4 of prefix). */
export const MAX_DEVICE_TAG_LENGTH = 25

/** The scan-response local name for a tag; throws BleError 'BAD_TAG' for a tag that cannot be advertised. */
export function advertisedName(deviceTag: string, prefix = 'OPG'): string {
  if (!/^[A-Za-z0-9_-]+$/.test(deviceTag) || deviceTag.length > MAX_DEVICE_TAG_LENGTH) {
    throw new BleError('BAD_TAG', `device tag must be 1..${MAX_DEVICE_TAG_LENGTH} of [A-Za-z0-9_-]`)
  }
  return `${prefix} ${deviceTag}`
}
