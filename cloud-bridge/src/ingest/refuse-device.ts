/**
 * Messages from a box the operator revoked, or of a suspended tenant. Nothing of theirs is booked and no ack
 * goes back (the box keeps every payment it holds and its receipts stay verifiable — a box revoked by mistake
 * loses nothing). But a batch still says which payments a revoked box claims to have taken: its tokens are kept
 * as refused with the reason, so the operator sees what was offered and can settle it, and one operator alert
 * per batch says so. A re-delivered batch adds nothing.
 */

import type { CryptoBackend } from '@opg/protocol'
import { isProtocolError, openMqtt, TxBatchSchema } from '@opg/protocol'
import type { TransactionRunner } from '../reconcile/ports.js'
import { describeRefused, insertRefused } from '../refused/store.js'
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
  const at = new Date(now)
  const kept = await db.transaction(async (tx) => {
    // The one store of refused tokens (refused_tokens): named by the digest of their bytes, since a revoked
    // box's tokens are not verified; the reason is the box's refusal, and the fields are read from the bytes.
    const rows = await insertRefused(
      tx,
      records.map((r) =>
        describeRefused({
          tenantId: t.tenantId,
          tokenId: tokenDigest(r.token),
          token: r.token,
          reason,
          source: 'box',
          receivedFrom: t.deviceId,
          valid: false,
          at: now,
        }),
      ),
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
