/**
 * Counters of what crossed one virtual link: ACL packets and bytes, and the ATT PDUs carried on the
 * attribute channel (CID 4) by opcode. Benchmarks read them to report ATT operations and bytes per exchange.
 */

const ATT_OPCODES: Record<number, string> = {
  1: 'error_rsp',
  2: 'mtu_req',
  3: 'mtu_rsp',
  4: 'find_info_req',
  5: 'find_info_rsp',
  6: 'find_by_type_req',
  7: 'find_by_type_rsp',
  8: 'read_by_type_req',
  9: 'read_by_type_rsp',
  10: 'read_req',
  11: 'read_rsp',
  12: 'read_blob_req',
  13: 'read_blob_rsp',
  16: 'read_by_group_req',
  17: 'read_by_group_rsp',
  18: 'write_req',
  19: 'write_rsp',
  22: 'prepare_write_req',
  23: 'prepare_write_rsp',
  24: 'execute_write_req',
  25: 'execute_write_rsp',
  27: 'notify',
  29: 'indicate',
  30: 'confirm',
  82: 'write_cmd',
}

/** Name of an ATT opcode ("write_cmd", "notify", …), or "op_0xNN" for others. */
export function attOpName(opcode: number): string {
  return ATT_OPCODES[opcode] ?? `op_0x${opcode.toString(16).padStart(2, '0')}`
}

/** Counters for one direction of one link. */
export interface DirectionStats {
  aclPackets: number
  /** ACL payload bytes (L2CAP header included, HCI header not). */
  aclBytes: number
  attPdus: number
  /** ATT PDU bytes (opcode + parameters). */
  attBytes: number
  /** ATT PDU count by opcode name. */
  attOps: Record<string, number>
}

/** Counters of one link, central → peripheral ("up") and peripheral → central ("down"). */
export interface LinkStats {
  id: number
  central: string
  peripheral: string
  open: boolean
  /** ATT MTU both sides settled on, as seen in the MTU exchange (23 until one happens). */
  attMtu: number
  up: DirectionStats
  down: DirectionStats
}

export function emptyDirection(): DirectionStats {
  return { aclPackets: 0, aclBytes: 0, attPdus: 0, attBytes: 0, attOps: {} }
}

/** Sum several direction counters (e.g. both directions, or all links). */
export function sumDirections(list: DirectionStats[]): DirectionStats {
  const total = emptyDirection()
  for (const d of list) {
    total.aclPackets += d.aclPackets
    total.aclBytes += d.aclBytes
    total.attPdus += d.attPdus
    total.attBytes += d.attBytes
    for (const [k, v] of Object.entries(d.attOps)) total.attOps[k] = (total.attOps[k] ?? 0) + v
  }
  return total
}

export function countAtt(d: DirectionStats, pdu: Buffer): void {
  d.attPdus++
  d.attBytes += pdu.length
  const name = attOpName(pdu[0] ?? 0)
  d.attOps[name] = (d.attOps[name] ?? 0) + 1
}
