/**
 * One connection between two virtual controllers, and what the radio reads from the data crossing it:
 * L2CAP reassembly to find whole ATT PDUs, and the ATT MTU exchange (optionally capped).
 */
import type { LinkStats } from './att-stats.js'
import type { Controller } from './controller.js'

/** A live connection; `handle` is the same on both controllers. */
export interface Link {
  handle: number
  central: Controller
  peripheral: Controller
  stats: LinkStats
  /** L2CAP PDU being reassembled, per direction. */
  rx: { up: Buffer | undefined; down: Buffer | undefined }
  /** MTU the client asked for, until the server answers. */
  mtuReq: number
}

const ATT_CID = 4

/**
 * Apply `cap` to an ATT MTU request/response carried whole in this start fragment (rewritten in place), and
 * record the MTU both sides settle on: min(client, server), never below 23.
 */
export function rewriteMtu(link: Link, l2cap: Buffer, cap: number | undefined): void {
  if (l2cap.length < 7 || l2cap.readUInt16LE(2) !== ATT_CID) return
  const op = l2cap[4]
  if (op !== 0x02 && op !== 0x03) return
  let value = l2cap.readUInt16LE(5)
  if (cap !== undefined && value > cap) {
    value = cap
    l2cap.writeUInt16LE(value, 5)
  }
  if (op === 0x02) link.mtuReq = value
  else link.stats.attMtu = Math.max(23, Math.min(link.mtuReq, value))
}

/** Feed one ACL fragment; returns the ATT PDU when this fragment completes one on the attribute channel. */
export function reassembleAtt(
  link: Link,
  dir: 'up' | 'down',
  isStart: boolean,
  data: Buffer,
): Buffer | undefined {
  const prev = link.rx[dir]
  const buf = isStart ? Buffer.from(data) : prev ? Buffer.concat([prev, data]) : undefined
  link.rx[dir] = buf
  if (!buf || buf.length < 4) return undefined
  const length = buf.readUInt16LE(0)
  if (buf.length < 4 + length) return undefined
  link.rx[dir] = undefined
  return buf.readUInt16LE(2) === ATT_CID ? buf.subarray(4, 4 + length) : undefined
}
