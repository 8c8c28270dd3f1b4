/**
 * MQTT wire format (SPEC.md §8): topics, message schemas, and the sealed payload.
 *   topic:   opg/v1/{tenant}/{device}/up/tx | up/status | down/ack | down/cmd
 *   payload: version(1) || nonce(12) || AES-128-GCM(CBOR(message)) || tag(16),
 *            aad = "opg/v1 mqtt" || 0x00 || topic — a payload moved to another topic or device fails.
 * The key is deriveKey(deviceSecret, 'mqtt', deviceId), so a hosted broker never sees payment data.
 * The last will is a sealed "offline" status naming the connection's session, fixed before connecting; the
 * bridge believes it only for the session it last saw online. The legacy unsealed 0x00 will is not believed.
 * A box logs in to the broker as brokerUsername(tenant, device) with brokerPassword (derived, never stored).
 */
import { type Options as CborOptions, Decoder } from 'cbor-x'
import { z } from 'zod'
import { type Bytes, concat, Reader, toHex, utf8 } from './bytes.js'
import { encodeCanonical } from './cbor.js'
import type { CryptoBackend } from './crypto/backend.js'
import { check, ERROR_CODES, ProtocolError } from './errors.js'
import { id8ToBytes, isId8 } from './ids.js'
import { deriveKey } from './kdf.js'

export const TOPIC_ROOT = 'opg/v1'
export const TOPIC_KINDS = ['up/tx', 'up/status', 'down/ack', 'down/cmd'] as const
export type TopicKind = (typeof TOPIC_KINDS)[number]
/** Largest sealed payload accepted (before any decryption work). */
export const MQTT_PAYLOAD_MAX = 256 * 1024
export const BATCH_MAX_RECORDS = 500
export const OFFLINE_STATUS = Uint8Array.of(0x00)
const PAYLOAD_VERSION = 0x01

export function topic(tenantId: string, deviceId: string, kind: TopicKind): string {
  check(isId8(tenantId) && isId8(deviceId), 'bad_field', 'tenant and device ids must be 16 hex chars')
  return `${TOPIC_ROOT}/${tenantId}/${deviceId}/${kind}`
}

/** The subscription a bridge replica uses (shared on an MQTT 5 broker). */
export function bridgeSubscription(shared: boolean): string {
  return `${shared ? '$share/bridge/' : ''}${TOPIC_ROOT}/+/+/up/#`
}

export function parseTopic(t: string): { tenantId: string; deviceId: string; kind: TopicKind } {
  if (typeof t !== 'string' || t.length > 128) throw new ProtocolError('bad_field', 'bad topic')
  const parts = t.split('/')
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) {
    throw new ProtocolError('bad_prefix', 'not an opg/v1 topic')
  }
  const [, , tenantId, deviceId, dir, leaf] = parts as [string, string, string, string, string, string]
  const kind = `${dir}/${leaf}` as TopicKind
  check(isId8(tenantId) && isId8(deviceId), 'bad_field', 'bad tenant or device id in topic')
  check(TOPIC_KINDS.includes(kind), 'bad_type', 'unknown topic kind')
  return { tenantId, deviceId, kind }
}

const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes')
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
const currency = z.string().regex(/^[A-Z]{3}$/)
const count = z.number().int().nonnegative()

/** One accepted payment as the box reports it. */
export const TxRecordSchema = z.object({
  token: bytes.refine((b) => b.length <= 265, 'token too long'),
  receipt: bytes.refine((b) => b.length <= 110, 'receipt too long'),
  channel: z.enum(['qr', 'ble']),
  /** Box's trusted time at acceptance, ms. Informational: the bridge never trusts device clocks for holds. */
  acceptedAt: count,
})
export const TxBatchSchema = z.object({
  v: z.literal(1),
  batch: uuid,
  records: z.array(TxRecordSchema).min(1).max(BATCH_MAX_RECORDS),
})
export const AckSchema = z.object({
  v: z.literal(1),
  batch: uuid,
  accepted: z.array(uuid).max(BATCH_MAX_RECORDS),
  rejected: z.array(z.object({ tx: z.string().max(64), code: z.enum(ERROR_CODES) })).max(BATCH_MAX_RECORDS),
})
/** A box's connection session: random per run, in its online statuses and in its sealed last will. */
const session = z.string().regex(/^[0-9a-f]{16}$/)
export const OnlineStatusSchema = z.object({
  v: z.literal(1),
  online: z.literal(true),
  session: session.optional(),
  at: count,
  pending: count,
  pendingAmount: z.record(currency, count),
  storageBytes: count,
  version: z.string().max(32),
  signal: z.number().int().min(-150).max(0).optional(),
  /** Where the box's clock comes from (SPEC.md §8.1): the bridge sends `time` unless it is `trusted`. */
  clock: z.enum(['trusted', 'carried', 'unsynced']).optional(),
  /** Version of the revocation list the box applies: the bridge sends `revocations` when it is behind. */
  revocations: z.number().int().min(-1).optional(),
  /** Storage health (SPEC.md §8, status): absent from boxes that predate it, and when all is well. */
  storage: z
    .object({
      /** Journal damage found at start, its bytes quarantined. */
      quarantined: count,
      /** Confirmed records the journal has lost (damage below the high-water mark). */
      lostRecords: count.optional(),
      /** The state file did not authenticate and was rebuilt. */
      stateRebuilt: z.boolean().optional(),
      /** Free space on the data partition is below the box's floor. */
      freeLow: z.boolean().optional(),
      /** The power-fail input fired at this box time (ms); the box refuses payments until restarted. */
      powerFailAt: count.optional(),
      /** The flush after the power-fail input did not complete. */
      powerFlushFailed: z.boolean().optional(),
    })
    .optional(),
})
/** The last will: sealed, so nobody but the box can say it went offline, and bound to its session. */
export const OfflineStatusSchema = z.object({ v: z.literal(1), online: z.literal(false), session })
export const StatusSchema = z.discriminatedUnion('online', [OnlineStatusSchema, OfflineStatusSchema])
/**
 * Sequence of a command (SPEC.md §8.1): one counter per device at the bridge, strictly increasing across every
 * command it sends that box. It travels inside the sealed payload, so only the bridge can set it; the box
 * refuses a command whose seq is not above the last one it applied of the same type (a replay).
 */
const seq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER)
const cmdBase = { v: z.literal(1), id: uuid, seq }
export const CommandSchema = z.discriminatedUnion('type', [
  z.object({ ...cmdBase, type: z.literal('time'), now: count }),
  z.object({
    ...cmdBase,
    type: z.literal('revocations'),
    version: count,
    wallets: z.array(z.string().regex(/^[0-9a-f]{16}$/)).max(100_000),
  }),
  z.object({
    ...cmdBase,
    type: z.literal('config'),
    config: z.record(z.string(), z.unknown()),
  }),
  z.object({
    ...cmdBase,
    type: z.literal('invoice_paid'),
    ref: z.string().regex(/^[A-Za-z0-9-]{1,32}$/),
    amount: z.number().int().positive(),
    currency,
    counter: count,
  }),
  z.object({ ...cmdBase, type: z.literal('sync_now') }),
])
/** The command types; the box keeps one sequence high-water mark per type. */
export const COMMAND_TYPES = ['time', 'revocations', 'config', 'invoice_paid', 'sync_now'] as const

export type TxRecord = z.infer<typeof TxRecordSchema>
export type TxBatch = z.infer<typeof TxBatchSchema>
export type Ack = z.infer<typeof AckSchema>
export type Status = z.infer<typeof StatusSchema>
export type OnlineStatus = z.infer<typeof OnlineStatusSchema>
export type Command = z.infer<typeof CommandSchema>

// int64AsNumber: deterministic CBOR sends ms times (above 2^32) as 8-byte integers, which cbor-x would otherwise
// decode as bigint; the schemas then refuse anything beyond 2^53 − 1.
// (cbor-x 1.6 implements the option; its typings omit it.)
const decoderOptions: CborOptions & { int64AsNumber: boolean } = {
  useRecords: false,
  mapsAsObjects: true,
  copyBuffers: true,
  int64AsNumber: true,
}
const decoder = new Decoder(decoderOptions)

/**
 * Encode a message (validated against its schema first) as deterministic CBOR (SPEC.md §8, RFC 8949 §4.2.1):
 * the same message is the same bytes in every implementation. Decoding (below) stays liberal: boxes deployed
 * before this rule send non-shortest map headers and float64 times, and they are still read.
 */
export function encodeMessage<T>(schema: z.ZodType<T>, message: T): Bytes {
  const ok = schema.safeParse(message)
  if (!ok.success)
    throw new ProtocolError('bad_field', `invalid message: ${ok.error.issues[0]?.message ?? ''}`)
  return encodeCanonical(message)
}

/** CBOR-decode and validate; any malformed input is a ProtocolError. */
export function decodeMessage<T>(schema: z.ZodType<T>, data: Bytes): T {
  if (data.length > MQTT_PAYLOAD_MAX) throw new ProtocolError('oversized', 'message too large')
  let raw: unknown
  try {
    raw = decoder.decode(data)
  } catch (cause) {
    throw new ProtocolError('bad_encoding', 'malformed CBOR', { cause })
  }
  const ok = schema.safeParse(raw)
  if (!ok.success)
    throw new ProtocolError('bad_field', `invalid message: ${ok.error.issues[0]?.message ?? ''}`)
  return ok.data
}

const aadFor = (t: string) => concat(utf8('opg/v1 mqtt'), Uint8Array.of(0), utf8(t))

/** Seal a message for `topicName` with the device's mqtt key. */
export function sealMqtt<T>(
  c: CryptoBackend,
  key: Bytes,
  topicName: string,
  schema: z.ZodType<T>,
  msg: T,
  nonce: Bytes = c.randomBytes(12),
): Bytes {
  const ct = c.aesGcmSeal(key, nonce, encodeMessage(schema, msg), aadFor(topicName))
  return concat(Uint8Array.of(PAYLOAD_VERSION), nonce, ct)
}

/** Open a sealed payload received on `topicName`. */
export function openMqtt<T>(
  c: CryptoBackend,
  key: Bytes,
  topicName: string,
  schema: z.ZodType<T>,
  payload: Bytes,
): T {
  if (payload.length > MQTT_PAYLOAD_MAX) throw new ProtocolError('oversized', 'payload too large')
  const r = new Reader(payload, 'mqtt payload')
  check(r.u8() === PAYLOAD_VERSION, 'bad_version', 'unknown payload version')
  const nonce = r.bytes(12)
  check(r.remaining() >= 16, 'truncated', 'mqtt payload: truncated')
  return decodeMessage(schema, c.aesGcmOpen(key, nonce, r.bytes(r.remaining()), aadFor(topicName)))
}

/**
 * True for the legacy unsealed last will (0x00). Anyone able to publish on the topic could send it, so the bridge
 * no longer believes it; kept so the bridge can recognise and drop it.
 */
export function isOfflineStatus(payload: Bytes): boolean {
  return payload.length === 1 && payload[0] === 0x00
}

/** The broker login of a box: `{tenant}.{device}`; also the CN of its client certificate with Mosquitto. */
export function brokerUsername(tenantId: string, deviceId: string): string {
  check(isId8(tenantId) && isId8(deviceId), 'bad_field', 'tenant and device ids must be 16 hex chars')
  return `${tenantId}.${deviceId}`
}

/** Parse a box's broker login back to its ids; null when it is not one. */
export function parseBrokerUsername(username: string): { tenantId: string; deviceId: string } | null {
  const m = /^([0-9a-f]{16})\.([0-9a-f]{16})$/.exec(username)
  return m ? { tenantId: m[1]!, deviceId: m[2]! } : null
}

/**
 * A box's broker password: the 'broker' purpose key of its device secret, as 32 hex characters. Both ends
 * derive it, so enrolment issues it with the secret and nothing new is stored or shipped.
 */
export function brokerPassword(c: CryptoBackend, deviceSecret: Bytes, deviceId: string): string {
  const k = deriveKey(c, deviceSecret, 'broker', id8ToBytes(deviceId))
  return toHex(k)
}
