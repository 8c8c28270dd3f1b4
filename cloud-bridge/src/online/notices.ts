/**
 * Telling a merchant box that an online payment to it succeeded (seed case 3). Inside the payment's own
 * transaction a notice gets the device's next counter; the channel is MQTT `down/cmd` when the box is
 * connected, otherwise an authenticated SMS `OPG1 PAID …` to its modem, enqueued in the outbox (durable with
 * the payment). The merchant's own phone gets a human-readable SMS when one is on file.
 */
import {
  type Command,
  CommandSchema,
  type CryptoBackend,
  deriveKey,
  formatMoney,
  formatPaidSms,
  id8ToBytes,
  sealMqtt,
  topic,
  uuidv7,
} from '@opg/protocol'
import type { Tx } from '../db/types.js'
import { deviceSecret } from '../fleet/devices.js'
import type { SecretSealer } from '../issuer/master-key.js'
import { enqueueSms } from '../sms/outbox.js'

/** The live MQTT link to boxes, as the composition root provides it. */
export interface BoxLink {
  /** True when the box's retained status says it is online right now (read in the caller's transaction). */
  isOnline(tx: Tx, tenantId: string, deviceId: string): Promise<boolean>
  publish(topicName: string, payload: Uint8Array): Promise<void>
}

export interface NoticeDeps {
  c: CryptoBackend
  sealer: SecretSealer
  link: BoxLink | null
}

export interface PaidNotice {
  tenantId: string
  deviceId: string
  merchantId: string
  paymentId: string
  reference: string
  amount: bigint
  currency: string
}

/** What to do after commit: publish over MQTT (the SMS, if any, is already in the outbox). */
export interface PendingPublish {
  topic: string
  payload: Uint8Array
}

/**
 * Record the notice and choose its channel, in the payment's transaction. Returns the MQTT publish to make
 * after commit, or null when the SMS went to the outbox (or the box has no modem number).
 */
export async function recordNotice(tx: Tx, d: NoticeDeps, n: PaidNotice): Promise<PendingPublish | null> {
  const { rows } = await tx.query<{ counter: bigint }>(
    'SELECT COALESCE(MAX(counter), 0) + 1 AS counter FROM box_notices WHERE tenant_id = $1 AND device_id = $2',
    [n.tenantId, n.deviceId],
  )
  const counter = Number(rows[0]!.counter)
  const online = d.link ? await d.link.isOnline(tx, n.tenantId, n.deviceId) : false
  const secret = await deviceSecret(tx, d.sealer, n.tenantId, n.deviceId)
  if (!secret) return null
  const idBytes = id8ToBytes(n.deviceId)
  const inserted = await tx.query(
    `INSERT INTO box_notices (tenant_id, device_id, counter, payment_id, channel, reference, amount, currency)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, payment_id) DO NOTHING RETURNING counter`,
    [
      n.tenantId,
      n.deviceId,
      counter,
      n.paymentId,
      online ? 'mqtt' : 'sms',
      n.reference,
      n.amount,
      n.currency,
    ],
  )
  if (inserted.rowCount === 0) return null
  const merchant = await tx.query<{ phone: string | null }>(
    'SELECT phone FROM merchants WHERE tenant_id = $1 AND id = $2',
    [n.tenantId, n.merchantId],
  )
  const phone = merchant.rows[0]?.phone
  if (phone) {
    await enqueueSms(tx, {
      tenantId: n.tenantId,
      to: phone,
      idempotencyKey: `merchant-paid:${n.paymentId}`,
      text: `opg: payment received, ${formatMoney(n.amount, n.currency)} for ${n.reference}.`,
    })
  }
  if (online) {
    const cmd: Command = {
      v: 1,
      id: uuidv7(d.c),
      type: 'invoice_paid',
      ref: n.reference,
      amount: Number(n.amount),
      currency: n.currency,
      counter,
    }
    const t = topic(n.tenantId, n.deviceId, 'down/cmd')
    return {
      topic: t,
      payload: sealMqtt(d.c, deriveKey(d.c, secret, 'mqtt', idBytes), t, CommandSchema, cmd),
    }
  }
  await enqueueBoxSms(tx, d, n, counter, secret)
  return null
}

async function enqueueBoxSms(tx: Tx, d: NoticeDeps, n: PaidNotice, counter: number, secret: Uint8Array) {
  const dev = await tx.query<{ modem_number: string | null }>(
    'SELECT modem_number FROM devices WHERE tenant_id = $1 AND id = $2',
    [n.tenantId, n.deviceId],
  )
  const modem = dev.rows[0]?.modem_number
  if (!modem) return
  const text = formatPaidSms(d.c, deriveKey(d.c, secret, 'sms', id8ToBytes(n.deviceId)), n.deviceId, {
    ref: n.reference,
    amount: Number(n.amount),
    currency: n.currency,
    counter,
  })
  await enqueueSms(tx, { tenantId: n.tenantId, to: modem, idempotencyKey: `box-paid:${n.paymentId}`, text })
}

/** The MQTT publish failed after commit: send the same notice (same counter) by SMS instead. */
export async function fallBackToSms(
  tx: Tx,
  d: NoticeDeps,
  tenantId: string,
  paymentId: string,
): Promise<void> {
  const { rows } = await tx.query<{
    device_id: string
    counter: bigint
    reference: string
    amount: bigint
    currency: string
  }>(
    `UPDATE box_notices SET channel = 'sms' WHERE tenant_id = $1 AND payment_id = $2
     RETURNING device_id, counter, reference, amount, currency`,
    [tenantId, paymentId],
  )
  const r = rows[0]
  if (!r) return
  const secret = await deviceSecret(tx, d.sealer, tenantId, r.device_id)
  if (!secret) return
  const n = {
    tenantId,
    deviceId: r.device_id,
    merchantId: '',
    paymentId,
    reference: r.reference,
    amount: r.amount,
    currency: r.currency,
  }
  await enqueueBoxSms(tx, d, n, Number(r.counter), secret)
}
