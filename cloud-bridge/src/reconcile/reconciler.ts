/**
 * Reconciliation service: loads records under the right locks, asks the planner, has the executor apply the
 * plan in the same transaction. Also runs the periodic sweep (auto-approval, purse leftovers), which several
 * replicas may run at once: rows are taken with FOR UPDATE SKIP LOCKED. "Now" is read once per transaction
 * from the database (ClockPort), so replicas with drifting clocks still agree on every deadline.
 */
import { insertRefused, loadRefused, owedByPurse } from '../refused/store.js'
import { withChain } from './chain.js'
import { applySteps } from './executor.js'
import { planRefusedPayouts } from './plan-refuse.js'
import {
  planApprovals,
  planArrivals,
  planClaim,
  planPurseRelease,
  planResolve,
  type Resolution,
} from './planner.js'
import {
  type Clock,
  type ClockPort,
  databaseClock,
  fixedClock,
  type LedgerPort,
  type PayerNotifier,
  type Queryable,
  type TransactionRunner,
  type WalletFreezer,
} from './ports.js'
import {
  claimDuePayments,
  duePurseCandidates,
  loadPaymentForUpdate,
  loadPaymentsFor,
  loadPurses,
  lockPurseForRelease,
  lockWallets,
  neighbourRanges,
  type PurseCursor,
  rowToPayment,
  tenantsWithDuePayments,
  tenantsWithDuePurses,
  walletAvailable,
} from './store.js'
import {
  type ArrivalOutcome,
  DEFAULT_RECONCILE_CONFIG,
  type PaymentRecord,
  type ReconcileConfig,
  ReconcileError,
  type RefusedRecord,
  type Side,
  type Step,
  type TokenFacts,
} from './types.js'

/** The subset of a pino logger used here. */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

export interface ReconcilerOptions {
  db: TransactionRunner
  ledger: LedgerPort
  notifier: PayerNotifier
  wallets?: WalletFreezer
  /** An injected clock (tests, demos); default: the database's clock, read once per transaction. */
  clock?: Clock | ClockPort
  config?: Partial<ReconcileConfig>
  /** How often the sweep runs after start() (default 60 s). */
  sweepIntervalMs?: number
  /** Rows taken per sweep transaction, and purses per page of the release sweep (default 200). */
  sweepBatch?: number
  /**
   * Purses looked at per tenant per sweep (default 10 × sweepBatch): each tenant with due purses gets this
   * much of every sweep, and the next sweep goes on from where it stopped.
   */
  pursesPerTenant?: number
  log?: Logger
}

// The Db reruns a transaction after a deadlock or serialization failure, so every function passed to
// db.transaction here has database effects only.

export class Reconciler {
  readonly config: ReconcileConfig
  private readonly clock: ClockPort
  private readonly log: Logger
  /** Per tenant, where the last sweep stopped when it ran out of budget (absent: start from the oldest). */
  private readonly purseCursors = new Map<string, PurseCursor>()
  private timer: NodeJS.Timeout | undefined
  private sweeping: Promise<unknown> | undefined

  constructor(private readonly opts: ReconcilerOptions) {
    this.config = { ...DEFAULT_RECONCILE_CONFIG, ...opts.config }
    const c = opts.clock
    this.clock = c === undefined ? databaseClock : typeof c === 'function' ? fixedClock(c) : c
    this.log = opts.log ?? silentLogger
  }

  /** Start the periodic sweep. */
  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      if (this.sweeping) return
      this.sweeping = this.sweepOnce()
        .catch((err) => this.log.error({ err }, 'reconcile sweep failed'))
        .finally(() => {
          this.sweeping = undefined
        })
    }, this.opts.sweepIntervalMs ?? 60_000)
  }

  /** Stop the sweep and wait for a running one to finish. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.sweeping
  }

  /**
   * Record verified tokens from one side inside the caller's transaction (the ingest batch transaction, or
   * recordPayerTokens' own). Returns one outcome per token, in order.
   */
  async recordTokens(
    tx: Queryable,
    tenantId: string,
    side: Side,
    tokens: TokenFacts[],
  ): Promise<ArrivalOutcome[]> {
    if (tokens.length === 0) return []
    if (tokens.some((t) => t.tenantId !== tenantId)) throw new Error('tokens of another tenant in one batch')
    const wallets = await lockWallets(
      tx,
      tenantId,
      tokens.map((t) => t.walletId),
    )
    // The counters on either side too: the hash chain is checked against the stored neighbours.
    const payments = (
      await loadPaymentsFor(
        tx,
        tenantId,
        tokens.map((t) => t.txId),
        neighbourRanges(tokens),
      )
    ).map(withChain)
    // Only refusals by the rules below count: one by an upload check (another wallet's log) must not let anyone
    // pre-empt the honest delivery of a token.
    const refused = (
      await loadRefused(
        tx,
        tenantId,
        tokens.map((t) => t.tokenHash),
      )
    ).filter((r) => r.settleState !== 'none')
    const purses = await loadPurses(tx, tenantId, [...new Set(tokens.map((t) => t.purseId))])
    const released = purses.filter((p) => p.releasedAt !== null)
    const available = await walletAvailable(tx, tenantId, released)
    const plan = planArrivals({
      refused,
      now: await this.clock.now(tx),
      config: this.config,
      side,
      tokens,
      payments,
      purses,
      wallets,
      walletAvailable: available,
    })
    await applySteps(tx, plan.steps, this.opts)
    return plan.outcomes
  }

  /**
   * The payer side: a wallet's uploaded log, already verified. Tokens of another wallet are rejected
   * ('wrong_wallet'); the rest are reconciled in one transaction, together with `refusals` (tokens the caller
   * refused: failed verification or upload checks), which are kept in refused_tokens. One outcome per token.
   */
  async recordPayerTokens(
    tenantId: string,
    walletId: string,
    tokens: TokenFacts[],
    refusals: RefusedRecord[] = [],
  ): Promise<ArrivalOutcome[]> {
    const own = tokens.filter((t) => t.walletId === walletId && t.tenantId === tenantId)
    const recorded = await this.opts.db.transaction(async (tx) => {
      await insertRefused(tx, refusals)
      return this.recordTokens(tx, tenantId, 'payer', own)
    })
    let i = 0
    return tokens.map(
      (t): ArrivalOutcome =>
        t.walletId === walletId && t.tenantId === tenantId
          ? recorded[i++]!
          : { txId: t.txId, status: 'rejected', code: 'wrong_wallet' },
    )
  }

  /** One payment by tx id, or null. */
  async getPayment(tenantId: string, txId: string): Promise<PaymentRecord | null> {
    const { rows } = await this.opts.db.transaction((tx) =>
      tx.query('SELECT * FROM offline_payments WHERE tenant_id = $1 AND tx_id = $2', [tenantId, txId]),
    )
    return rows[0] ? rowToPayment(rows[0]) : null
  }

  /**
   * The payer claims fraud on one of its payments. Throws ReconcileError with a stable code when refused.
   * Runs in `tx` when given (the claims module records the claim in the same transaction), else in its own.
   */
  async claimFraud(
    input: { tenantId: string; walletId: string; txId: string; reason: string },
    tx?: Queryable,
  ): Promise<PaymentRecord> {
    return this.inTransaction(tx, async (tx) => {
      const p = await loadPaymentForUpdate(tx, input.tenantId, input.txId)
      if (!p) throw new ReconcileError('not_found', 'no such payment')
      const now = await this.clock.now(tx)
      await applySteps(tx, planClaim(p, input.walletId, input.reason, now), this.opts)
      return (await loadPaymentForUpdate(tx, input.tenantId, input.txId))!
    })
  }

  /** The operator decides a disputed payment; in `tx` when given, as claimFraud. */
  async resolveClaim(
    input: { tenantId: string; txId: string; decision: Resolution; operator: string },
    tx?: Queryable,
  ): Promise<PaymentRecord> {
    return this.inTransaction(tx, async (tx) => {
      const p = await loadPaymentForUpdate(tx, input.tenantId, input.txId)
      if (!p) throw new ReconcileError('not_found', 'no such payment')
      const now = await this.clock.now(tx)
      await applySteps(tx, planResolve(p, input.decision, input.operator, now), this.opts)
      return (await loadPaymentForUpdate(tx, input.tenantId, input.txId))!
    })
  }

  private inTransaction<T>(tx: Queryable | undefined, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return tx ? fn(tx) : this.opts.db.transaction(fn)
  }

  /** One sweep: approve due held payments and return leftovers of finished purses. Returns the counts. */
  async sweepOnce(): Promise<{ approved: number; released: number }> {
    const batch = this.opts.sweepBatch ?? 200
    let approved = 0
    // Tenant by tenant: no sweep transaction spans two tenants.
    const tenants = await this.opts.db.transaction(async (tx) =>
      tenantsWithDuePayments(tx, await this.clock.now(tx)),
    )
    for (const tenantId of tenants) {
      for (;;) {
        const n = await this.opts.db.transaction(async (tx) => {
          const now = await this.clock.now(tx)
          const due = await claimDuePayments(tx, tenantId, now, batch)
          await applySteps(tx, planApprovals(due, now, this.config), this.opts)
          return due.length
        })
        approved += n
        if (n < batch) break
      }
    }
    const released = await this.releasePurses(batch)
    if (approved || released) this.log.info({ approved, released }, 'reconcile sweep')
    return { approved, released }
  }

  /**
   * Purse leftovers, tenant by tenant: each tenant with due purses gets up to `pursesPerTenant` of this sweep,
   * paged by (expires_at, purse_id), so purses that must wait (a held payment) are stepped over rather than
   * heading every sweep, and a tenant with a backlog cannot starve the others. A tenant whose budget ran out
   * resumes from its cursor on the next sweep; one that reached its end starts from its oldest again.
   */
  private async releasePurses(batch: number): Promise<number> {
    const budget = this.opts.pursesPerTenant ?? batch * 10
    const grace = this.config.purseGraceSeconds * 1000
    const tenants = await this.opts.db.transaction(async (tx) =>
      tenantsWithDuePurses(tx, (await this.clock.now(tx)) - grace),
    )
    for (const id of this.purseCursors.keys()) if (!tenants.includes(id)) this.purseCursors.delete(id)
    let released = 0
    for (const tenantId of tenants) {
      let cursor = this.purseCursors.get(tenantId) ?? null
      let seen = 0
      let exhausted = false
      while (seen < budget) {
        const want = Math.min(batch, budget - seen)
        const page = await this.opts.db.transaction(async (tx) =>
          duePurseCandidates(tx, tenantId, (await this.clock.now(tx)) - grace, cursor, want),
        )
        for (const c of page) {
          released += await this.opts.db.transaction(async (tx) => {
            const locked = await lockPurseForRelease(tx, c)
            if (!locked) return 0
            const now = await this.clock.now(tx)
            const { purse } = locked
            // Merchants holding receipts for refused tokens of this purse are paid before the leftover returns.
            const owed = await owedByPurse(tx, purse.tenantId, purse.purseId)
            const available =
              owed.length > 0
                ? await walletAvailable(tx, purse.tenantId, [purse])
                : ({} as Record<string, number>)
            const payouts = planRefusedPayouts(owed, purse.purseAmount - purse.spent, available, now)
            const after = { ...purse, spent: purse.spent + payouts.escrowUsed }
            const release = planPurseRelease(after, locked.payments, now, this.config)
            if (release.length === 0) return 0
            const spent: Step[] =
              payouts.escrowUsed > 0
                ? [
                    {
                      type: 'purse_spent',
                      tenantId: purse.tenantId,
                      purseId: purse.purseId,
                      delta: payouts.escrowUsed,
                    },
                  ]
                : []
            await applySteps(tx, [...payouts.steps, ...spent, ...release], this.opts)
            return 1
          })
        }
        seen += page.length
        const last = page.at(-1)
        if (last) cursor = { expiresAt: last.expiresAt, purseId: last.purseId }
        if (page.length < want) {
          exhausted = true
          break
        }
      }
      if (exhausted || cursor === null) this.purseCursors.delete(tenantId)
      else this.purseCursors.set(tenantId, cursor)
    }
    return released
  }
}
