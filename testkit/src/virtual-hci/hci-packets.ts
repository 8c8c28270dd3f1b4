/**
 * HCI packet layouts the virtual controller speaks (Bluetooth Core Vol 4 Part E), kept to what bleno and
 * noble send and expect, plus the length-prefixed framing used on the radio's unix socket.
 */

export const HCI_COMMAND_PKT = 0x01
export const HCI_ACLDATA_PKT = 0x02
export const HCI_EVENT_PKT = 0x04

export const EVT_DISCONN_COMPLETE = 0x05
export const EVT_CMD_COMPLETE = 0x0e
export const EVT_CMD_STATUS = 0x0f
export const EVT_NUM_COMPLETED_PACKETS = 0x13
export const EVT_LE_META = 0x3e
export const LE_CONN_COMPLETE = 0x01
export const LE_ADVERTISING_REPORT = 0x02

/** Advertising report event types. */
export const ADV_IND = 0x00
export const SCAN_RSP = 0x04

/** Opcodes (OGF << 10 | OCF) the controller gives a meaningful answer to. */
export const OP = {
  disconnect: 0x0406,
  setEventMask: 0x0c01,
  reset: 0x0c03,
  readLeHostSupported: 0x0c6c,
  writeLeHostSupported: 0x0c6d,
  readLocalVersion: 0x1001,
  readBufferSize: 0x1005,
  readBdAddr: 0x1009,
  readRssi: 0x1405,
  leSetEventMask: 0x2001,
  leReadBufferSize: 0x2002,
  leSetAdvParams: 0x2006,
  leSetAdvData: 0x2008,
  leSetScanRspData: 0x2009,
  leSetAdvEnable: 0x200a,
  leSetScanParams: 0x200b,
  leSetScanEnable: 0x200c,
  leCreateConn: 0x200d,
  leCreateConnCancel: 0x200e,
} as const

/** HCI status and disconnection reasons used here. */
export const STATUS = {
  success: 0x00,
  unknownCommand: 0x01,
  unknownConnection: 0x02,
  connectionTimeout: 0x08,
  remoteUserTerminated: 0x13,
  localHostTerminated: 0x16,
} as const

/** ACL packet-boundary flags (bits 12-13 of the handle field). */
export const PB_START_NO_FLUSH = 0x0
export const PB_CONT = 0x1
export const PB_START = 0x2

function event(code: number, params: Buffer): Buffer {
  return Buffer.concat([Buffer.from([HCI_EVENT_PKT, code, params.length]), params])
}

export function commandComplete(opcode: number, status: number, result: Buffer = Buffer.alloc(0)): Buffer {
  const p = Buffer.alloc(4 + result.length)
  p.writeUInt8(1, 0) // one more command may be sent
  p.writeUInt16LE(opcode, 1)
  p.writeUInt8(status, 3)
  result.copy(p, 4)
  return event(EVT_CMD_COMPLETE, p)
}

export function commandStatus(opcode: number, status: number): Buffer {
  const p = Buffer.alloc(4)
  p.writeUInt8(status, 0)
  p.writeUInt8(1, 1)
  p.writeUInt16LE(opcode, 2)
  return event(EVT_CMD_STATUS, p)
}

export function disconnectionComplete(handle: number, reason: number): Buffer {
  const p = Buffer.alloc(4)
  p.writeUInt8(STATUS.success, 0)
  p.writeUInt16LE(handle, 1)
  p.writeUInt8(reason, 3)
  return event(EVT_DISCONN_COMPLETE, p)
}

export function numberOfCompletedPackets(handle: number, count: number): Buffer {
  const p = Buffer.alloc(5)
  p.writeUInt8(1, 0)
  p.writeUInt16LE(handle, 1)
  p.writeUInt16LE(count, 3)
  return event(EVT_NUM_COMPLETED_PACKETS, p)
}

/** LE Advertising Report with one report; `address` in HCI (little-endian) byte order. */
export function advertisingReport(type: number, address: Buffer, data: Buffer, rssi = -50): Buffer {
  const p = Buffer.alloc(2 + 1 + 1 + 6 + 1 + data.length + 1)
  p.writeUInt8(LE_ADVERTISING_REPORT, 0)
  p.writeUInt8(1, 1)
  p.writeUInt8(type, 2)
  p.writeUInt8(0x00, 3) // public address
  address.copy(p, 4)
  p.writeUInt8(data.length, 10)
  data.copy(p, 11)
  p.writeInt8(rssi, 11 + data.length)
  return event(EVT_LE_META, p)
}

/** LE Connection Complete; role 0 = central, 1 = peripheral; `peer` in HCI byte order. */
export function leConnectionComplete(status: number, handle: number, role: number, peer: Buffer): Buffer {
  const p = Buffer.alloc(19)
  p.writeUInt8(LE_CONN_COMPLETE, 0)
  p.writeUInt8(status, 1)
  p.writeUInt16LE(handle, 2)
  p.writeUInt8(role, 4)
  p.writeUInt8(0x00, 5) // public peer address
  peer.copy(p, 6)
  p.writeUInt16LE(0x0018, 12) // interval 30 ms
  p.writeUInt16LE(0x0000, 14) // latency
  p.writeUInt16LE(0x002a, 16) // supervision timeout 420 ms
  p.writeUInt8(0x00, 18)
  return event(EVT_LE_META, p)
}

/** An ACL data packet header + payload. */
export function aclPacket(handle: number, pb: number, data: Buffer): Buffer {
  const p = Buffer.alloc(5 + data.length)
  p.writeUInt8(HCI_ACLDATA_PKT, 0)
  p.writeUInt16LE((handle & 0x0fff) | (pb << 12), 1)
  p.writeUInt16LE(data.length, 3)
  data.copy(p, 5)
  return p
}

/** "aa:bb:cc:dd:ee:ff" → 6 bytes in HCI (reversed) order. */
export function addressToHci(address: string): Buffer {
  return Buffer.from(address.split(':').reverse().join(''), 'hex')
}

/** Length-prefixed frames on the radio's stream socket. */
export function encodeFrame(payload: Buffer): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt32BE(payload.length, 0)
  return Buffer.concat([head, payload])
}

/** Incremental frame decoder: feed stream data, get whole frames. */
export class FrameDecoder {
  #buf: Buffer = Buffer.alloc(0)
  push(data: Buffer): Buffer[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, data]) : data
    const frames: Buffer[] = []
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32BE(0)
      if (this.#buf.length < 4 + len) break
      frames.push(this.#buf.subarray(4, 4 + len))
      this.#buf = this.#buf.subarray(4 + len)
    }
    return frames
  }
}
