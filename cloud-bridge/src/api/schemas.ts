/**
 * The JSON shapes of the HTTP API, one zod schema each; the OpenAPI document is generated from them.
 * Conventions: ids are 16 lowercase hex; keys, certificates and tokens are base64url without padding;
 * amounts are integers in minor units; times are ISO 8601 strings.
 */
import { z } from '@hono/zod-openapi'
import { isIsoCurrency } from './currency.js'

export const Id = z
  .string()
  .regex(/^[0-9a-f]{16}$/)
  .openapi({ example: '0f1e2d3c4b5a6978' })
export const TxId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  .openapi({ example: '01890a5d-ac96-774b-bcce-b302099a8057' })
export const B64u = z
  .string()
  .regex(/^[A-Za-z0-9_-]*$/)
  .openapi({ description: 'base64url, no padding' })
/** Minor units; the wire formats carry u32 amounts. */
export const Amount = z.number().int().min(1).max(0xffffffff).openapi({ example: 2500 })
export const Currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .refine(isIsoCurrency, 'not an ISO 4217 currency code')
  .openapi({ example: 'EUR', description: 'ISO 4217' })
export const Phone = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/)
  .openapi({ description: 'E.164', example: '+4915112345678' })
const Iso = z.string().openapi({ format: 'date-time' })

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error')

export const RoleSchema = z.enum(['operator', 'merchant', 'wallet', 'device'])

export const ApiKeyCreated = z
  .object({ id: Id, key: z.string(), role: RoleSchema, subjectId: Id.nullable() })
  .openapi('ApiKeyCreated', { description: 'The key text is shown only in this response.' })

export const KeyInfoSchema = z
  .object({
    id: Id,
    role: RoleSchema,
    subjectId: Id.nullable(),
    label: z.string(),
    createdAt: Iso,
    revokedAt: Iso.nullable(),
    expiresAt: Iso.nullable(),
    lastUsedAt: Iso.nullable().openapi({ description: 'kept to the minute' }),
    rotatedAt: Iso.nullable(),
    previousSecretExpiresAt: Iso.nullable().openapi({ description: 'the old secret works until then' }),
  })
  .openapi('ApiKey')

export const TenantSchema = z.object({ id: Id, name: z.string(), currency: Currency }).openapi('Tenant')

export const IssuerKeysSchema = z
  .object({ keys: z.array(z.object({ keyId: z.string(), publicKey: B64u })) })
  .openapi('IssuerKeys')

export const MerchantSchema = z
  .object({
    id: Id,
    name: z.string(),
    createdAt: Iso,
    phone: z.string().nullable(),
    bankAccountRef: z.string().nullable(),
  })
  .openapi('Merchant')

export const DeviceSchema = z
  .object({
    id: Id,
    merchantId: Id,
    label: z.string(),
    createdAt: Iso,
    certified: z.boolean(),
    certExpiresAt: Iso.nullable(),
    lastSeenAt: Iso.nullable(),
    online: z.boolean(),
    modemNumber: z.string().nullable(),
    pendingCount: z.number().int(),
    revoked: z.boolean(),
  })
  .openapi('Device')

export const DeviceRegistered = z
  .object({
    device: DeviceSchema,
    deviceSecret: z.string().openapi({ description: '128-bit device secret, hex; shown only here' }),
    apiKey: ApiKeyCreated,
  })
  .openapi('DeviceRegistered')

export const NodeCertRequest = z
  .object({ signingKey: B64u, encryptionKey: B64u })
  .openapi('NodeCertificateRequest', { description: 'Ed25519 and X25519 public keys, 32 bytes each' })

export const NodeCertResponse = z
  .object({
    certificate: B64u,
    issuerKeyId: z.string(),
    expiresAt: Iso,
    issuerKeys: IssuerKeysSchema.shape.keys,
  })
  .openapi('NodeCertificate')

export const WalletSchema = z
  .object({
    id: Id,
    publicKey: B64u,
    phone: z.string(),
    currency: Currency,
    frozen: z.boolean(),
    frozenReason: z.string().nullable(),
    nextCounter: z.number().int(),
    createdAt: Iso,
  })
  .openapi('Wallet')

export const BalanceSchema = z
  .object({ currency: Currency, available: z.number().int(), escrow: z.number().int() })
  .openapi('Balance')

export const PurseRequest = z
  .object({
    amount: Amount,
    perPaymentLimit: Amount.optional(),
    // The messages reach the wallet's user as they are (the CLI prints them): say the limit and its unit.
    ttlSeconds: z
      .number()
      .int()
      .min(60, 'a purse lives at least 60 s (the minimum TTL)')
      .max(72 * 3600, 'a purse lives at most 72 h (259200 s)')
      .optional(),
  })
  .openapi('PurseRequest')

export const PurseSchema = z
  .object({
    id: Id,
    walletId: Id,
    amount: z.number().int(),
    perPaymentLimit: z.number().int(),
    currency: Currency,
    counterBase: z.number().int(),
    counterEnd: z.number().int(),
    issuerKeyId: z.string(),
    certificate: B64u,
    issuedAt: Iso,
    expiresAt: Iso,
  })
  .openapi('Purse')

export const PaymentStatusSchema = z.enum([
  'held',
  'confirmed',
  'auto_approved',
  'claimed',
  'reversed',
  'upheld',
  'double_spend',
  'unfunded',
])

export const PaymentSchema = z
  .object({
    txId: TxId,
    walletId: Id,
    merchantId: Id,
    deviceId: Id,
    amount: z.number().int(),
    currency: Currency,
    counter: z.number().int(),
    status: PaymentStatusSchema,
    firstSeenAt: Iso,
    holdUntil: Iso.nullable(),
  })
  .openapi('Payment')

export const LogUpload = z
  .object({ tokens: z.array(B64u.max(4096)).min(1).max(500) })
  .openapi('LogUpload', { description: 'The wallet’s signed payment tokens, oldest first' })

export const LogResult = z
  .object({
    results: z.array(
      z.object({
        index: z.number().int(),
        txId: TxId.nullable(),
        outcome: z.enum(['accepted', 'duplicate', 'rejected']),
        status: PaymentStatusSchema.nullable(),
        code: z.string().nullable(),
      }),
    ),
  })
  .openapi('LogResult')

export const ClaimSchema = z
  .object({
    id: Id,
    txId: TxId,
    walletId: Id,
    reason: z.string(),
    status: z.enum(['open', 'reversed', 'upheld']),
    filedAt: Iso,
    resolvedAt: Iso.nullable(),
    note: z.string().nullable(),
  })
  .openapi('Claim')

export const SmsSchema = z
  .object({ id: z.string(), to: z.string(), body: z.string(), status: z.string(), createdAt: Iso })
  .openapi('Sms')
