/**
 * Messages from a box the operator revoked, or of a suspended tenant. Nothing of theirs is booked and no ack
 * goes back (the box keeps every payment it holds and its receipts stay verifiable — a box revoked by mistake
 * loses nothing). But a batch still says which payments a revoked box claims to have taken: its tokens are kept
 * as refused with the reason, so the operator sees what was offered and can settle it, and one operator alert
 * per batch says so. A re-delivered batch adds nothing.
 */

import type { CryptoBackend } from '@opg/protocol'
import { decodeToken, isProtocolError, openMqtt, TxBatchSchema } from '@opg/protocol'
import type { TransactionRunner } from '../reconcile/ports.js'
import { tokenDigest } from '../verify/verify-token.js'

/** Why a box's messages are refused: the code kept with each of its tokens. */
export type DeviceRefusal = 'device_revoked' | 'tenant_suspended'

export interface RefusedBatch {
  /** Tokens newly kept (0 for a re-delivery or an unreadable payload). */
  kept: number
  /** The payload did not open or was not a batch (then nothing is kept). */
  unreadable: boolean
}

/** Keep the tokens of a refused box's batch with `reason`. */
export async function keepRefusedBatch(
  db: TransactionRunner,
  c: CryptoBackend,
  key: Uint8Array,
  t: { tenantId: string; deviceId: string; topic: string },
  payload: Uint8Array,
  reason: DeviceRefusal,
  now: number,
): Promise<RefusedBatch> {
  let records: { token: Uint8Array }[]
  let batchId: string
  try {
    const batch = openMqtt(c, key, t.topic, TxBatchSchema, payload)
    records = batch.records
    batchId = batch.batch
  } catch (err) {
    if (isProtocolError(err)) return { kept: 0, unreadable: true }
    throw err
  }
  const txIdOf = (b: Uint8Array): string | null => {
    try {
      return decodeToken(b).txId
    } catch {
      return null
    }
  }
  const at = new Date(now)
  const kept = await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ token_hash: string }>(
      `INSERT INTO rejected_tokens (tenant_id, device_id, tx_id, code, token, token_hash, received_at)
       SELECT $1, $2, x, $3, b, h, $4 FROM unnest($5::text[], $6::bytea[], $7::text[]) AS u(x, b, h)
       ON CONFLICT (tenant_id, device_id, token_hash) DO NOTHING RETURNING token_hash`,
      [
        t.tenantId,
        t.deviceId,
        reason,
        at,
        records.map((r) => txIdOf(r.token)),
        records.map((r) => r.token),
        records.map((r) => tokenDigest(r.token)),
      ],
    )
    if (rows.length > 0) {
      await tx.query(
        `INSERT INTO operator_alerts (kind, tenant_id, device_id, detail, created_at)
         VALUES ('refused_device_batch', $1, $2, $3, $4)`,
        [t.tenantId, t.deviceId, JSON.stringify({ reason, batch: batchId, tokens: rows.length }), at],
      )
    }
    return rows.length
  })
  return { kept, unreadable: false }
}
