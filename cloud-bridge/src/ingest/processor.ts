/**
 * One MQTT message in, at most one ack out: the transport-free core of ingest. For `up/tx` it finds the box by
 * (tenant, device) from the topic, opens the payload with the box's MQTT key (the AAD binds the topic, so a
 * payload moved to another box's topic fails), verifies every token on the worker pool, and in ONE database
 * transaction records the verified tokens (reconciliation), the refused ones (for the operator) and the batch.
 * Only then does it seal the ack; the consumer publishes it after this returns, i.e. after the commit.
 * For `up/status` it updates the fleet view (status.ts: sealed statuses only, a will only for the session last
 * seen online). Anything it cannot attribute to a registered box is dropped and logged, never thrown.
 */
import {
  type Ack,
  AckSchema,
  type CryptoBackend,
  deriveKey,
  type IssuerKeyring,
  id8ToBytes,
  isProtocolError,
  openMqtt,
  parseTopic,
  sealMqtt,
  TxBatchSchema,
  topic,
} from '@opg/protocol'
import { bridgeBackend } from '../crypto.js'
import type { Clock, Queryable, TransactionRunner } from '../reconcile/ports.js'
import { type Logger, type Reconciler, silentLogger } from '../reconcile/reconciler.js'
import type { ArrivalOutcome, TokenFacts } from '../reconcile/types.js'
import { describeRefused, insertRefused } from '../refused/store.js'
import type { TokenVerifier } from '../verify/pool.js'
import type { VerifyResult } from '../verify/verify-token.js'
import type { DeviceDirectory, DeviceRecord, KeyringSource } from './ports.js'
import { type DeviceRefusal, keepRefusedBatch } from './refuse-device.js'
import { recordBoxStatus, type StatusDeps, type StatusFollowUp } from './status.js'

export interface ProcessorOptions {
  db: TransactionRunner
  reconciler: Reconciler
  verifier: TokenVerifier
  devices: DeviceDirectory
  keyrings: KeyringSource
  crypto?: CryptoBackend
  clock?: Clock
  log?: Logger
  /** How long a device's record and derived key are reused (default 30 s). */
  cacheTtlMs?: number
  /**
   * Called after an online status is recorded, with what the box says about its clock and revocation list
   * (the composition root sends `time` / `revocations` from here: fleet/box-commands.ts). Errors are logged.
   */
  onStatus?: StatusFollowUp
  /**
   * Who says whether a box is online: 'status' (its sealed statuses and sealed will; external brokers) or
   * 'broker' (the embedded broker's own session events; statuses then only carry the figures).
   */
  presence?: 'status' | 'broker'
}

/** What became of one message. */
export type ProcessResult =
  | { kind: 'dropped'; reason: DropReason }
  | { kind: 'status' }
  | { kind: 'batch'; ackTopic: string; ackPayload: Uint8Array; ack: Ack }

export type DropReason =
  | 'bad_topic'
  | 'not_inbound'
  | 'unknown_device'
  | 'revoked_device'
  | 'suspended_tenant'
  | 'bad_payload'
  | 'unsealed_status'
  | 'stale_will'

/** Counters for the fleet view and the bench. */
export interface IngestStats {
  batches: number
  accepted: number
  duplicates: number
  rejected: number
  statuses: number
  /** Tokens kept as refused because their box is revoked or its tenant suspended. */
  refusedTokens: number
  dropped: Record<DropReason, number>
}

interface CachedDevice {
  device: DeviceRecord
  key: Uint8Array
  at: number
}

export class BatchProcessor {
  private readonly c: CryptoBackend
  private readonly clock: Clock
  private readonly log: Logger
  private readonly statusDeps: StatusDeps
  private readonly devices = new Map<string, CachedDevice>()
  private readonly keyrings = new Map<string, { ring: IssuerKeyring; at: number }>()
  readonly stats: IngestStats = {
    batches: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    statuses: 0,
    refusedTokens: 0,
    dropped: {
      bad_topic: 0,
      not_inbound: 0,
      unknown_device: 0,
      revoked_device: 0,
      suspended_tenant: 0,
      bad_payload: 0,
      unsealed_status: 0,
      stale_will: 0,
    },
  }

  constructor(private readonly opts: ProcessorOptions) {
    this.c = opts.crypto ?? bridgeBackend
    this.clock = opts.clock ?? Date.now
    this.log = opts.log ?? silentLogger
    this.statusDeps = {
      c: this.c,
      devices: opts.devices,
      log: this.log,
      presence: opts.presence,
      onStatus: opts.onStatus,
    }
  }

  private drop(reason: DropReason, detail: object): ProcessResult {
    this.stats.dropped[reason]++
    this.log.warn({ ...detail, reason }, 'mqtt message dropped')
    return { kind: 'dropped', reason }
  }

  private async device(tenantId: string, deviceId: string): Promise<CachedDevice | null> {
    const k = `${tenantId}/${deviceId}`
    const hit = this.devices.get(k)
    const ttl = this.opts.cacheTtlMs ?? 30_000
    if (hit && this.clock() - hit.at < ttl) return hit
    const device = await this.opts.devices.lookup(tenantId, deviceId)
    if (!device || device.tenantId !== tenantId || device.deviceId !== deviceId) {
      this.devices.delete(k)
      return null
    }
    const entry = {
      device,
      key: deriveKey(this.c, device.secret, 'mqtt', id8ToBytes(deviceId)),
      at: this.clock(),
    }
    this.devices.set(k, entry)
    return entry
  }

  private async keyring(tenantId: string, fresh = false): Promise<IssuerKeyring> {
    const hit = this.keyrings.get(tenantId)
    if (!fresh && hit && this.clock() - hit.at < (this.opts.cacheTtlMs ?? 30_000)) return hit.ring
    const ring = await this.opts.keyrings.keyring(tenantId)
    this.keyrings.set(tenantId, { ring, at: this.clock() })
    return ring
  }

  /**
   * A revoked box, or a box of a suspended tenant: its status is ignored and its batches are not booked nor
   * acked, but their tokens are kept as refused with the reason (refuse-device.ts).
   */
  private async refuseRevoked(
    tenantId: string,
    deviceId: string,
    kind: 'up/tx' | 'up/status',
    topicName: string,
    payload: Uint8Array,
    dev: CachedDevice,
  ): Promise<ProcessResult> {
    const reason: DeviceRefusal = dev.device.revoked ? 'device_revoked' : 'tenant_suspended'
    const dropReason: DropReason = dev.device.revoked ? 'revoked_device' : 'suspended_tenant'
    if (kind === 'up/status') return this.drop(dropReason, { tenantId, deviceId, kind })
    const r = await keepRefusedBatch(
      this.opts.db,
      this.c,
      dev.key,
      { tenantId, deviceId, topic: topicName },
      payload,
      reason,
      this.clock(),
    )
    this.stats.refusedTokens += r.kept
    return this.drop(dropReason, { tenantId, deviceId, kind, tokensKept: r.kept, unreadable: r.unreadable })
  }

  /** Handle one message. Throws only for infrastructure failures (database, worker pool): then do not ack. */
  async process(topicName: string, payload: Uint8Array): Promise<ProcessResult> {
    let t: ReturnType<typeof parseTopic>
    try {
      t = parseTopic(topicName)
    } catch {
      return this.drop('bad_topic', { topic: topicName })
    }
    if (t.kind !== 'up/tx' && t.kind !== 'up/status') return this.drop('not_inbound', { topic: topicName })
    const dev = await this.device(t.tenantId, t.deviceId)
    if (!dev) return this.drop('unknown_device', { tenantId: t.tenantId, deviceId: t.deviceId })
    if (dev.device.revoked || dev.device.suspended)
      return this.refuseRevoked(t.tenantId, t.deviceId, t.kind, topicName, payload, dev)
    if (t.kind === 'up/status') return this.status(t.tenantId, t.deviceId, topicName, payload, dev)
    return this.batch(t.tenantId, t.deviceId, topicName, payload, dev)
  }

  private async status(
    tenantId: string,
    deviceId: string,
    topicName: string,
    payload: Uint8Array,
    dev: CachedDevice,
  ): Promise<ProcessResult> {
    const r = await recordBoxStatus(
      this.statusDeps,
      { tenantId, deviceId, key: dev.key },
      topicName,
      payload,
      new Date(this.clock()),
    )
    if (r.kind === 'refused')
      return this.drop(r.reason, { tenantId, deviceId, ...(r.code !== undefined ? { code: r.code } : {}) })
    this.stats.statuses++
    return { kind: 'status' }
  }

  private async batch(
    tenantId: string,
    deviceId: string,
    topicName: string,
    payload: Uint8Array,
    dev: CachedDevice,
  ): Promise<ProcessResult> {
    let batch: ReturnType<typeof TxBatchSchema.parse>
    try {
      batch = openMqtt(this.c, dev.key, topicName, TxBatchSchema, payload)
    } catch (err) {
      return this.drop('bad_payload', {
        tenantId,
        deviceId,
        code: isProtocolError(err) ? err.code : 'unknown',
      })
    }
    const tokens = batch.records.map((r) => r.token)
    const results = await this.verify(tenantId, dev.device, tokens)
    const now = this.clock()
    const valid: TokenFacts[] = []
    const refused: { index: number; r: Extract<VerifyResult, { ok: false }> }[] = []
    results.forEach((r, i) => {
      if (r.ok) valid.push({ ...r.facts, token: tokens[i]! })
      else refused.push({ index: i, r })
    })

    const outcomes = await this.opts.db.transaction(async (tx) => {
      const out = await this.opts.reconciler.recordTokens(tx, tenantId, 'merchant', valid)
      const kept = out.filter((o) => o.status === 'stored' || o.status === 'duplicate').length
      await this.recordRefused(
        tx,
        tenantId,
        deviceId,
        refused.map(({ index, r }) => ({ token: tokens[index]!, r })),
        now,
      )
      await tx.query(
        `INSERT INTO device_batches (tenant_id, device_id, batch_id, received_at, items, accepted, rejected)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, device_id, batch_id) DO UPDATE SET deliveries = device_batches.deliveries + 1`,
        [tenantId, deviceId, batch.batch, new Date(now), tokens.length, kept, tokens.length - kept],
      )
      return out
    })

    const ack = this.ackFor(batch.batch, outcomes, refused)
    this.stats.batches++
    this.stats.accepted += outcomes.filter((o) => o.status === 'stored').length
    this.stats.duplicates += outcomes.filter((o) => o.status === 'duplicate').length
    this.stats.rejected += ack.rejected.length
    const ackTopic = topic(tenantId, deviceId, 'down/ack')
    return { kind: 'batch', ackTopic, ackPayload: sealMqtt(this.c, dev.key, ackTopic, AckSchema, ack), ack }
  }

  /** Verify on the pool; tokens under an issuer key this replica has not seen yet get one fresh keyring. */
  private async verify(
    tenantId: string,
    device: DeviceRecord,
    tokens: Uint8Array[],
  ): Promise<VerifyResult[]> {
    const ctx = (issuerKeys: IssuerKeyring) => ({
      tenantId,
      issuerKeys,
      nowS: Math.floor(this.clock() / 1000),
      graceS: this.opts.reconciler.config.purseGraceSeconds,
      merchantId: device.merchantId,
      deviceId: device.deviceId,
    })
    const results = await this.opts.verifier.verify(tokens, ctx(await this.keyring(tenantId)))
    const unknown = results.flatMap((r, i) => (!r.ok && r.code === 'unknown_key' ? [i] : []))
    if (unknown.length === 0) return results
    const again = await this.opts.verifier.verify(
      unknown.map((i) => tokens[i]!),
      ctx(await this.keyring(tenantId, true)),
    )
    unknown.forEach((i, j) => {
      results[i] = again[j]!
    })
    return results
  }

  /**
   * Tokens that failed verification into refused_tokens (one statement, with what their bytes say), and one
   * operator alert per token seen for the first time (one statement): a re-delivered batch adds neither.
   */
  private async recordRefused(
    tx: Queryable,
    tenantId: string,
    deviceId: string,
    refused: { token: Uint8Array; r: Extract<VerifyResult, { ok: false }> }[],
    now: number,
  ): Promise<void> {
    if (refused.length === 0) return
    const rows = await insertRefused(
      tx,
      refused.map((f) =>
        describeRefused({
          tenantId,
          tokenId: f.r.tokenHash,
          token: f.token,
          reason: f.r.code,
          source: 'box',
          receivedFrom: deviceId,
          valid: false,
          at: now,
        }),
      ),
    )
    if (rows.length === 0) return
    await tx.query(
      `INSERT INTO operator_alerts (kind, tenant_id, device_id, tx_id, detail, created_at)
       SELECT 'invalid_token', $1, $2, x, d, $3 FROM unnest($4::text[], $5::jsonb[]) AS u(x, d)`,
      [
        tenantId,
        deviceId,
        new Date(now),
        rows.map((r) => r.txId),
        rows.map((r) => JSON.stringify({ code: r.reason, tokenHash: r.tokenId })),
      ],
    )
  }

  /**
   * The box's ack: every token the bridge honours (stored or duplicate) is accepted; every token it refused —
   * failed verification, or kept as proof of a double spend — is rejected with its code, so the box stops
   * resending it and keeps it as refused. Either way the bridge holds the token. A
   * token whose tx id could not be read is named by its SHA-256 (hex) instead.
   */
  private ackFor(
    batchId: string,
    outcomes: ArrivalOutcome[],
    refused: { r: Extract<VerifyResult, { ok: false }> }[],
  ): Ack {
    const accepted = [
      ...new Set(
        outcomes.flatMap((o) => (o.status === 'stored' || o.status === 'duplicate' ? [o.txId] : [])),
      ),
    ]
    const rejected: Ack['rejected'] = []
    for (const o of outcomes) {
      if (o.status === 'rejected') rejected.push({ tx: o.txId, code: 'replay' })
      // Kept at the bridge as refused (with its proof): the box keeps it as refused too, never as paid.
      else if (o.status === 'refused') rejected.push({ tx: o.txId, code: o.code })
    }
    for (const { r } of refused) rejected.push({ tx: r.txId ?? r.tokenHash, code: r.code })
    return { v: 1, batch: batchId, accepted, rejected }
  }
}
