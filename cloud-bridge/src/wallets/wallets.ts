/**
 * Wallets: registration (Ed25519 public key + phone), freeze/unfreeze, balances, operator top-ups, and
 * loading an offline purse — the amount moves from wallet_available to purse_escrow in the ledger and the
 * tenant's issuer signs a wallet certificate, all in one transaction.
 */
import { isStrictEd25519PublicKey } from '@opg/protocol'
import { BridgeError } from '../api/errors.js'
import type { Database, IssuerPort, Queryable } from '../api/ports.js'
import { type CreatedKey, createApiKey } from '../auth/api-keys.js'
import { isUniqueViolation } from '../db/errors.js'
import { newId } from '../db/ids.js'
import { accounts, balance, isLedgerError, transfer } from '../ledger/index.js'

/** Longest purse validity the bridge ever signs: merchants' risk window is bounded by it. */
export const MAX_PURSE_TTL_SECONDS = 72 * 3600

/**
 * Highest counter a wallet may reach. Counters are unsigned 32-bit on the wire, and tokens under a
 * certificate use counters above its base. A purse of N minor units can sign at most N payments (each moves
 * at least one unit), so it reserves the counters base+1 … base+N and the next purse starts at base+N:
 * counters never repeat across a wallet's purses.
 */
export const MAX_COUNTER = 2n ** 32n - 1n

/** A wallet as the API shows it. */
export interface Wallet {
  id: string
  publicKey: Uint8Array
  phone: string
  currency: string
  frozen: boolean
  frozenReason: string | null
  nextCounter: bigint
  createdAt: Date
}

interface WalletRow {
  id: string
  public_key: Uint8Array
  phone: string
  currency: string
  frozen: boolean
  frozen_reason: string | null
  next_counter: string | number | bigint
  created_at: Date
}

const COLS = 'id, public_key, phone, currency, frozen, frozen_reason, next_counter, created_at'

function toWallet(r: WalletRow): Wallet {
  return {
    id: r.id,
    publicKey: new Uint8Array(r.public_key),
    phone: r.phone,
    currency: r.currency,
    frozen: r.frozen,
    frozenReason: r.frozen_reason,
    nextCounter: BigInt(r.next_counter),
    createdAt: new Date(r.created_at),
  }
}

/** Register a wallet's public key and phone number; returns the wallet and its API key (shown once). */
export async function registerWallet(
  db: Database,
  tenantId: string,
  input: { publicKey: Uint8Array; phone: string; currency: string },
): Promise<{ wallet: Wallet; apiKey: CreatedKey }> {
  if (input.publicKey.length !== 32) throw new BridgeError('invalid_request', 'public key must be 32 bytes')
  // A key whose signatures strict verification refuses (non-canonical or small order) is never certified.
  if (!isStrictEd25519PublicKey(input.publicKey)) {
    throw new BridgeError('invalid_request', 'public key is not a canonical Ed25519 key of full order')
  }
  try {
    return await db.transaction(async (tx) => {
      const id = newId()
      const { rows } = await tx.query<WalletRow>(
        `INSERT INTO wallets (tenant_id, id, public_key, phone, currency) VALUES ($1, $2, $3, $4, $5)
         RETURNING ${COLS}`,
        [tenantId, id, input.publicKey, input.phone, input.currency],
      )
      const apiKey = await createApiKey(tx, tenantId, 'wallet', id, `wallet ${input.phone}`)
      return { wallet: toWallet(rows[0]!), apiKey }
    })
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new BridgeError('conflict', 'public key already registered', { cause: err })
    }
    throw err
  }
}

/** A wallet of the tenant, or null. */
export async function getWallet(q: Queryable, tenantId: string, id: string): Promise<Wallet | null> {
  const { rows } = await q.query<WalletRow>(`SELECT ${COLS} FROM wallets WHERE tenant_id = $1 AND id = $2`, [
    tenantId,
    id,
  ])
  return rows[0] ? toWallet(rows[0]) : null
}

/** Freeze or unfreeze a wallet (operator action; reconciliation also freezes on double spend). */
export async function setFrozen(
  q: Queryable,
  tenantId: string,
  id: string,
  frozen: boolean,
  reason: string | null,
): Promise<Wallet> {
  const { rows } = await q.query<WalletRow>(
    `UPDATE wallets SET frozen = $3, frozen_reason = $4 WHERE tenant_id = $1 AND id = $2 RETURNING ${COLS}`,
    [tenantId, id, frozen, frozen ? reason : null],
  )
  if (!rows[0]) throw new BridgeError('not_found', 'no such wallet')
  return toWallet(rows[0])
}

/** Spendable and escrowed balances of a wallet, in minor units. */
export async function walletBalance(
  q: Queryable,
  tenantId: string,
  w: Wallet,
): Promise<{ available: bigint; escrow: bigint }> {
  return {
    available: await balance(q, accounts.walletAvailable(tenantId, w.id, w.currency)),
    escrow: await balance(q, accounts.purseEscrow(tenantId, w.id, w.currency)),
  }
}

/** Operator top-up (a card or bank payment arrived): card clearing → wallet available. */
export async function creditWallet(
  db: Database,
  tenantId: string,
  walletId: string,
  amount: bigint,
  ref: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const w = await getWallet(tx, tenantId, walletId)
    if (!w) throw new BridgeError('not_found', 'no such wallet')
    await transfer(tx, {
      tenantId,
      from: accounts.cardClearing(tenantId, w.currency),
      to: accounts.walletAvailable(tenantId, walletId, w.currency),
      amount,
      ref,
      memo: 'wallet top-up',
    })
  })
}

/** An offline purse: escrowed funds and the certificate that lets the wallet spend them offline. */
export interface Purse {
  id: string
  walletId: string
  amount: bigint
  perPaymentLimit: bigint
  currency: string
  counterBase: bigint
  counterEnd: bigint
  issuerKeyId: string
  certificate: Uint8Array
  issuedAt: Date
  expiresAt: Date
}

interface PurseRow {
  id: string
  wallet_id: string
  amount: string | number | bigint
  per_payment_limit: string | number | bigint
  currency: string
  counter_base: string | number | bigint
  counter_end: string | number | bigint
  issuer_key_id: string
  certificate: Uint8Array
  issued_at: Date
  expires_at: Date
}

const PURSE_COLS =
  'id, wallet_id, amount, per_payment_limit, currency, counter_base, counter_end, issuer_key_id, certificate, issued_at, expires_at'

function toPurse(r: PurseRow): Purse {
  return {
    id: r.id,
    walletId: r.wallet_id,
    amount: BigInt(r.amount),
    perPaymentLimit: BigInt(r.per_payment_limit),
    currency: r.currency,
    counterBase: BigInt(r.counter_base),
    counterEnd: BigInt(r.counter_end),
    issuerKeyId: r.issuer_key_id,
    certificate: new Uint8Array(r.certificate),
    issuedAt: new Date(r.issued_at),
    expiresAt: new Date(r.expires_at),
  }
}

/** What the wallet asks for when loading a purse. */
export interface LoadPurseRequest {
  amount: bigint
  /** Defaults to the purse amount. */
  perPaymentLimit?: bigint
  /** Defaults to, and is capped by, the bridge's purse TTL (≤ 72 h). */
  ttlSeconds?: number
}

/** Load an offline purse: escrow the amount and issue the wallet certificate. */
export async function loadPurse(
  db: Database,
  issuer: IssuerPort,
  tenantId: string,
  walletId: string,
  req: LoadPurseRequest,
  opts: { now: Date; maxTtlSeconds: number },
): Promise<Purse> {
  const maxTtl = Math.min(opts.maxTtlSeconds, MAX_PURSE_TTL_SECONDS)
  const ttl = Math.min(req.ttlSeconds ?? maxTtl, maxTtl)
  const limit = req.perPaymentLimit ?? req.amount
  if (req.amount <= 0n || limit <= 0n || limit > req.amount || ttl <= 0) {
    throw new BridgeError('invalid_request', 'bad purse amount, limit or ttl')
  }
  // Fetched before the transaction: signing then needs no I/O while rows are locked.
  const signer = await issuer.signer(tenantId)
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<WalletRow>(
      `SELECT ${COLS} FROM wallets WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
      [tenantId, walletId],
    )
    if (!rows[0]) throw new BridgeError('not_found', 'no such wallet')
    const wallet = toWallet(rows[0])
    if (wallet.frozen) throw new BridgeError('wallet_frozen', 'wallet is frozen')
    const available = await balance(tx, accounts.walletAvailable(tenantId, walletId, wallet.currency))
    if (available < req.amount) throw new BridgeError('insufficient_funds', 'balance below purse amount')
    const counterBase = wallet.nextCounter
    const counterEnd = counterBase + req.amount
    if (counterEnd > MAX_COUNTER) throw new BridgeError('counter_exhausted', 'counter space used up')
    const id = newId()
    try {
      await transfer(tx, {
        tenantId,
        from: accounts.walletAvailable(tenantId, walletId, wallet.currency),
        to: accounts.purseEscrow(tenantId, walletId, wallet.currency),
        amount: req.amount,
        ref: `purse:${id}`,
        memo: 'offline purse load',
      })
    } catch (err) {
      // A concurrent spend between the check above and the guarded debit.
      if (isLedgerError(err, 'insufficient_funds')) {
        throw new BridgeError('insufficient_funds', 'balance below purse amount', { cause: err })
      }
      throw err
    }
    const issuedAt = Math.floor(opts.now.getTime() / 1000)
    const expiresAt = issuedAt + ttl
    const certificate = signer.walletCertificate({
      walletId,
      publicKey: wallet.publicKey,
      perPaymentLimit: limit,
      purseAmount: req.amount,
      currency: wallet.currency,
      counterBase,
      issuedAt,
      expiresAt,
    })
    await tx.query('UPDATE wallets SET next_counter = $3 WHERE tenant_id = $1 AND id = $2', [
      tenantId,
      walletId,
      counterEnd.toString(),
    ])
    const ins = await tx.query<PurseRow>(
      `INSERT INTO wallet_purses (tenant_id, id, wallet_id, amount, per_payment_limit, currency, counter_base,
         counter_end, issuer_key_id, certificate, issued_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${PURSE_COLS}`,
      [
        tenantId,
        id,
        walletId,
        req.amount.toString(),
        limit.toString(),
        wallet.currency,
        counterBase.toString(),
        counterEnd.toString(),
        signer.keyId,
        certificate,
        new Date(issuedAt * 1000).toISOString(),
        new Date(expiresAt * 1000).toISOString(),
      ],
    )
    return toPurse(ins.rows[0]!)
  })
}

/** A wallet's purses, newest first. */
export async function listPurses(q: Queryable, tenantId: string, walletId: string): Promise<Purse[]> {
  const { rows } = await q.query<PurseRow>(
    `SELECT ${PURSE_COLS} FROM wallet_purses WHERE tenant_id = $1 AND wallet_id = $2 ORDER BY counter_base DESC`,
    [tenantId, walletId],
  )
  return rows.map(toPurse)
}
