/**
 * One virtual controller's own state and the commands it answers from that state alone (version, addresses,
 * buffer sizes, masks). Commands that involve other controllers — advertising, scanning, connecting — are the
 * radio's (radio.ts).
 */
import type net from 'node:net'
import * as H from './hci-packets.js'

/** A controller attached to the radio. */
export interface Controller {
  id: number
  address: string
  name: string
  socket: net.Socket
  advEnabled: boolean
  advData: Buffer
  scanRspData: Buffer
  scanning: boolean
  activeScan: boolean
  /** Address a Create Connection waits for, until it advertises or the host cancels. */
  pendingConnect: string | undefined
  /** ACL packets the host sent that the controller has not yet reported completed. */
  outstanding: number
}

/** Snapshot of one virtual controller. */
export interface ControllerInfo {
  address: string
  name: string
  advertising: boolean
  scanning: boolean
  /** Local name in the scan response (or advertising data), if any. */
  localName: string | undefined
}

export function controllerInfo(c: Controller): ControllerInfo {
  return {
    address: c.address,
    name: c.name,
    advertising: c.advEnabled,
    scanning: c.scanning,
    localName: localNameOf(c.scanRspData) ?? localNameOf(c.advData),
  }
}

/**
 * The Command Complete parameters (after status) for a command answered locally, an empty buffer for one
 * with no parameters, or undefined when the radio must handle it.
 */
export function localReply(
  ctrl: Controller,
  op: number,
  p: Buffer,
  config: { aclDataLength: number; aclBufferPackets: number },
): Buffer | undefined {
  switch (op) {
    case H.OP.setEventMask:
    case H.OP.reset:
    case H.OP.leSetEventMask:
    case H.OP.writeLeHostSupported:
    case H.OP.leSetAdvParams:
      return Buffer.alloc(0)
    case H.OP.leSetScanParams:
      ctrl.activeScan = p[0] === 1
      return Buffer.alloc(0)
    case H.OP.readLocalVersion: {
      const r = Buffer.alloc(8)
      r.writeUInt8(0x09, 0) // HCI 5.0: bleno and noble need >= 6 (4.0)
      r.writeUInt8(0x09, 3)
      r.writeUInt16LE(0x05f1, 4) // Linux Foundation
      return r
    }
    case H.OP.readLeHostSupported:
      return Buffer.from([0x01, 0x00])
    case H.OP.readBdAddr:
      return H.addressToHci(ctrl.address)
    case H.OP.leReadBufferSize: {
      const r = Buffer.alloc(3)
      r.writeUInt16LE(config.aclDataLength, 0)
      r.writeUInt8(config.aclBufferPackets, 2)
      return r
    }
    case H.OP.readBufferSize: {
      const r = Buffer.alloc(7)
      r.writeUInt16LE(config.aclDataLength, 0)
      r.writeUInt16LE(config.aclBufferPackets, 3)
      return r
    }
    case H.OP.readRssi: {
      const r = Buffer.alloc(3)
      r.writeUInt16LE(p.readUInt16LE(0), 0)
      r.writeInt8(-50, 2)
      return r
    }
    default:
      return undefined
  }
}

/** The (shortened or complete) local name in advertising data, if present. */
export function localNameOf(eir: Buffer): string | undefined {
  let i = 0
  while (i + 1 < eir.length) {
    const len = eir[i] ?? 0
    if (len === 0) break
    const type = eir[i + 1]
    if (type === 0x08 || type === 0x09) return eir.subarray(i + 2, i + 1 + len).toString('utf8')
    i += 1 + len
  }
  return undefined
}
