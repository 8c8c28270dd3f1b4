/**
 * What sync puts on the wire: sealed batches and status out, acks and commands in. `protocolCodec` uses the
 * protocol's CBOR schemas sealed with AES-128-GCM under the device's derived MQTT key, bound to the topic,
 * so a hosted broker never sees payment data and a payload moved to another device's topic fails to open.
 */
import {
  AckSchema,
  type Bytes,
  type Command,
  CommandSchema,
  type CryptoBackend,
  openMqtt,
  StatusSchema,
  sealMqtt,
  TxBatchSchema,
} from '@opg/protocol'
import type { PaymentRecord } from '../vault/types.js'
import type { NodeTopics } from './topics.js'

/** The node's health as published (retained) on up/status. */
export interface NodeStatus {
  pendingCount: number
  /** Unacked amounts by currency, minor units. */
  pendingAmount: Record<string, number>
  /** Free bytes on the data partition. */
  storageBytes: number
  version: string
  /** Modem signal in dBm when a modem is present. */
  signal?: number
  at: number
  /** Where the clock comes from; the bridge sends `time` unless it is trusted. */
  clock?: 'trusted' | 'carried' | 'unsynced'
  /** Version of the revocation list applied (−1: none); the bridge sends a newer one. */
  revocations?: number
  /** Storage health; absent when all is well. */
  storage?: StatusStorage
}

/** Storage health as status carries it (protocol OnlineStatusSchema `storage`). */
export interface StatusStorage {
  quarantined: number
  lostRecords?: number
  stateRebuilt?: boolean
  freeLow?: boolean
  powerFailAt?: number
  powerFlushFailed?: boolean
}

/** What an ack tells the node: the bridge has durably taken these payments over (booked or refused). */
export interface AckInfo {
  batchId: string
  accepted: string[]
  rejected: { txId: string; code: string }[]
}

/** Commands the bridge sends on down/cmd (the protocol's schema). */
export type NodeCommand = Command

export interface SyncCodec {
  sealBatch(batchId: string, records: readonly PaymentRecord[]): Uint8Array
  /** Throws ProtocolError on a forged or malformed ack. */
  openAck(payload: Uint8Array): AckInfo
  /** Throws ProtocolError on a forged or malformed command. */
  openCmd(payload: Uint8Array): NodeCommand
  /** `undefined` seals the "offline" status of this run's session (also the last will). */
  sealStatus(status: NodeStatus | undefined): Uint8Array
}

/**
 * The production codec. `mqttKey` = deriveKey(c, deviceSecret, 'mqtt', deviceIdBytes). Every status of one codec
 * names one random session, so the bridge can tell this run's sealed last will from a replayed older one.
 */
export function protocolCodec(c: CryptoBackend, mqttKey: Bytes, topics: NodeTopics): SyncCodec {
  const session = Array.from(c.randomBytes(8), (b) => b.toString(16).padStart(2, '0')).join('')
  return {
    sealBatch(batchId, records) {
      return sealMqtt(c, mqttKey, topics.tx, TxBatchSchema, {
        v: 1,
        batch: batchId,
        records: records.map((r) => ({
          token: r.token,
          receipt: r.receipt,
          channel: r.channel,
          acceptedAt: r.acceptedAt,
        })),
      })
    },
    openAck(payload) {
      const ack = openMqtt(c, mqttKey, topics.ack, AckSchema, payload)
      return {
        batchId: ack.batch,
        accepted: ack.accepted,
        rejected: ack.rejected.map((r) => ({ txId: r.tx, code: r.code })),
      }
    },
    openCmd(payload) {
      return openMqtt(c, mqttKey, topics.cmd, CommandSchema, payload)
    },
    sealStatus(status) {
      if (!status) return sealMqtt(c, mqttKey, topics.status, StatusSchema, { v: 1, online: false, session })
      const msg = {
        v: 1 as const,
        online: true as const,
        session,
        at: status.at,
        pending: status.pendingCount,
        pendingAmount: status.pendingAmount,
        storageBytes: status.storageBytes,
        version: status.version,
        ...(status.signal !== undefined ? { signal: status.signal } : {}),
        ...(status.clock !== undefined ? { clock: status.clock } : {}),
        ...(status.revocations !== undefined ? { revocations: status.revocations } : {}),
        ...(status.storage !== undefined ? { storage: status.storage } : {}),
      }
      return sealMqtt(c, mqttKey, topics.status, StatusSchema, msg)
    },
  }
}
