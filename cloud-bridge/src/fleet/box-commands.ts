/**
 * Bridge → box commands that carry state the box needs before its next acceptance: trusted `time` and the
 * tenant's `revocations` list (frozen wallets that can still pay: currentRevocations). Each command gets the device's next `seq` (protocol SPEC.md
 * §8.1) and is sealed with the box's MQTT key, so only this bridge can issue it and a recording cannot be
 * replayed.
 *
 * When: a box publishes its status on every (re)connect and then every minute, carrying where its clock comes
 * from and the version of the list it applies. `onStatus` answers with `time` when the clock is not trusted
 * (or this replica has not set it for `timeResyncMs`), and with `revocations` when the box is behind. A poll
 * notices a changed list and pushes it to every online box of the tenant at once. Sends to one box are
 * spaced by `minIntervalMs`, so a box that keeps refusing cannot make the bridge loop.
 *
 * An operator's `sync_now` and `config` go through the same sequence and seal (fleet/box-command-actions.ts).
 */
import {
  type Command,
  CommandSchema,
  type ConfigOverride,
  type CryptoBackend,
  deriveKey,
  id8ToBytes,
  MQTT_PAYLOAD_MAX,
  sealMqtt,
  toHex,
  topic,
  utf8,
  uuidv7,
} from '@opg/protocol'
import type { Database, Queryable } from '../api/ports.js'
import type { SecretSealer } from '../issuer/master-key.js'
import { type Logger, silentLogger } from '../reconcile/reconciler.js'
import { DEFAULT_RECONCILE_CONFIG } from '../reconcile/types.js'
import { deviceSecret } from './devices.js'

/** Publishes a sealed payload at QoS 1 (the composition root's MQTT client). */
export interface CommandLink {
  publish(topicName: string, payload: Uint8Array): Promise<void>
}

/** What a box's status says about the state it holds (StatusSchema `clock`, `revocations`). */
export interface BoxState {
  clock?: 'trusted' | 'carried' | 'unsynced' | undefined
  revocations?: number | undefined
}

export interface RevocationList {
  /** 0 while the tenant has never frozen a wallet. */
  version: number
  wallets: string[]
}

export interface BoxCommandsOptions {
  db: Database
  c: CryptoBackend
  sealer: SecretSealer
  link: CommandLink
  clock?: () => number
  log?: Logger
  /** Re-send `time` to a trusted box this often, against oscillator drift (default 6 h). */
  timeResyncMs?: number
  /** Least time between two commands of one type to one box (default 30 s). */
  minIntervalMs?: number
  /** How often changed revocation lists are looked for (default 5 s; 0: no timer). */
  pollMs?: number
  /**
   * How long after a purse certificate's expiry its tokens are still honoured (reconciliation's
   * `purseGraceSeconds`, default 72 h): a frozen wallet stays on the list until then (revocationHorizon).
   */
  purseGraceSeconds?: number
}

/**
 * The box's next command sequence number. Strictly increasing per device, and never below the bridge clock in
 * ms: a database restored from a backup still issues numbers above every one it gave before the restore.
 */
export async function nextCommandSeq(
  q: Queryable,
  tenantId: string,
  deviceId: string,
  nowMs: number,
): Promise<number | null> {
  const { rows } = await q.query<{ cmd_seq: string | number | bigint }>(
    `UPDATE devices SET cmd_seq = GREATEST(cmd_seq + 1, $3::bigint)
     WHERE tenant_id = $1 AND id = $2 RETURNING cmd_seq`,
    [tenantId, deviceId, Math.floor(nowMs)],
  )
  return rows[0] ? Number(rows[0].cmd_seq) : null
}

/** Seal a command for the box (caller supplies the seq). Null when the tenant has no such box. */
export async function sealBoxCommand(
  q: Queryable,
  c: CryptoBackend,
  sealer: SecretSealer,
  tenantId: string,
  deviceId: string,
  cmd: Command,
): Promise<{ topic: string; payload: Uint8Array } | null> {
  const secret = await deviceSecret(q, sealer, tenantId, deviceId)
  if (!secret) return null
  const t = topic(tenantId, deviceId, 'down/cmd')
  const key = deriveKey(c, secret, 'mqtt', id8ToBytes(deviceId))
  return { topic: t, payload: sealMqtt(c, key, t, CommandSchema, cmd) }
}

const DAY_MS = 86_400_000

/**
 * The expiry before which a frozen wallet's certificates no longer matter: a box refuses a token whose
 * certificate has expired on its own clock, and the bridge refuses it once the purse grace after expiry has
 * passed too, so a wallet whose every certificate expired before `now − grace` can pay nobody. The horizon is
 * that instant rounded down to the start of its UTC day, so a wallet leaves the list up to a day later than it
 * could, and pruning changes a tenant's list (and its version) at most once a day.
 */
export function revocationHorizon(nowMs: number, purseGraceSeconds: number): number {
  return Math.floor((nowMs - purseGraceSeconds * 1000) / DAY_MS) * DAY_MS
}

/**
 * The tenant's current revocation list and its version: every frozen wallet that still holds a purse
 * certificate expiring after the horizon (revocationHorizon). A frozen wallet cannot load a new purse, so the
 * list holds the wallets frozen in the last few days (purse validity ≤ 72 h, plus the grace), not every wallet
 * ever frozen, and stays far inside one MQTT payload. A frozen wallet that never loaded a purse cannot pay
 * offline at all and is not listed. The version moves only when that set changes (by digest), so every replica
 * agrees on it; two replicas racing to record a new list both end with the one row that won.
 */
export async function currentRevocations(
  db: Database,
  c: CryptoBackend,
  tenantId: string,
  nowMs: number,
  purseGraceSeconds: number = DEFAULT_RECONCILE_CONFIG.purseGraceSeconds,
): Promise<RevocationList> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT w.id FROM wallets w
      WHERE w.tenant_id = $1 AND w.frozen
        AND EXISTS (SELECT 1 FROM wallet_purses p
                     WHERE p.tenant_id = w.tenant_id AND p.wallet_id = w.id AND p.expires_at > $2)
      ORDER BY w.id`,
    [tenantId, new Date(revocationHorizon(nowMs, purseGraceSeconds))],
  )
  const wallets = rows.map((r) => r.id)
  const digest = c.sha256(utf8(wallets.join(',')))
  for (let attempt = 0; attempt < 3; attempt++) {
    const latest = await db.query<{ version: string | number; digest: Uint8Array }>(
      'SELECT version, digest FROM revocation_lists WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1',
      [tenantId],
    )
    const row = latest.rows[0]
    if (row && toHex(new Uint8Array(row.digest)) === toHex(digest))
      return { version: Number(row.version), wallets }
    if (!row && wallets.length === 0) return { version: 0, wallets }
    const inserted = await db.query(
      `INSERT INTO revocation_lists (tenant_id, version, digest, wallets, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, version) DO NOTHING`,
      [tenantId, (row ? Number(row.version) : 0) + 1, digest, wallets.length, new Date(nowMs)],
    )
    if (inserted.rowCount === 1) return { version: (row ? Number(row.version) : 0) + 1, wallets }
  }
  throw new Error(`revocation list of tenant ${tenantId} kept changing under concurrent writers`)
}

/** Sends `time` and `revocations` to boxes; `start()` runs the change poll, `stop()` ends it. */
export class BoxCommands {
  readonly #o: Required<Omit<BoxCommandsOptions, 'log'>> & { log: Logger }
  /** Last send per box and type (this replica), ms. */
  readonly #sent = new Map<string, Partial<Record<Command['type'], number>>>()
  /** Each tenant's list as last read, for the status path (refreshed by the poll or after pollMs). */
  readonly #lists = new Map<string, { list: RevocationList; at: number }>()
  #timer: NodeJS.Timeout | undefined
  #polling = false
  /** Counters for logs and tests. */
  readonly stats = { time: 0, revocations: 0, sync_now: 0, config: 0, failed: 0 }

  constructor(o: BoxCommandsOptions) {
    this.#o = {
      clock: Date.now,
      timeResyncMs: 6 * 3600_000,
      minIntervalMs: 30_000,
      pollMs: 5_000,
      purseGraceSeconds: DEFAULT_RECONCILE_CONFIG.purseGraceSeconds,
      ...o,
      log: o.log ?? silentLogger,
    }
  }

  start(): void {
    if (this.#timer || this.#o.pollMs <= 0) return
    this.#timer = setInterval(() => void this.poll(), this.#o.pollMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** A box reported its status (online): send what it is missing. Never throws. */
  async onStatus(tenantId: string, deviceId: string, s: BoxState): Promise<void> {
    try {
      const now = this.#o.clock()
      const sent = this.#sent.get(`${tenantId}/${deviceId}`) ?? {}
      const lastTime = sent.time
      const staleTime =
        s.clock !== 'trusted' || lastTime === undefined || now - lastTime >= this.#o.timeResyncMs
      if (staleTime && this.#due(sent.time, now)) await this.sendTime(tenantId, deviceId)
      const list = await this.#list(tenantId, now)
      if ((s.revocations ?? -1) < list.version && this.#due(sent.revocations, now)) {
        await this.sendRevocations(tenantId, deviceId, list)
      }
    } catch (err) {
      this.stats.failed++
      this.#o.log.warn({ err, tenantId, deviceId }, 'box command not sent')
    }
  }

  /** Send the bridge's time now. */
  async sendTime(tenantId: string, deviceId: string): Promise<boolean> {
    const ok = await this.#send(tenantId, deviceId, (seq) => ({
      v: 1,
      id: uuidv7(this.#o.c),
      seq,
      type: 'time',
      now: Math.floor(this.#o.clock()),
    }))
    if (ok) this.stats.time++
    return ok
  }

  /** Send the tenant's revocation list (the current one unless given). */
  async sendRevocations(tenantId: string, deviceId: string, list?: RevocationList): Promise<boolean> {
    const l = list ?? (await this.#list(tenantId, this.#o.clock(), true))
    const ok = await this.#send(tenantId, deviceId, (seq) => ({
      v: 1,
      id: uuidv7(this.#o.c),
      seq,
      type: 'revocations',
      version: l.version,
      wallets: l.wallets,
    }))
    if (ok) this.stats.revocations++
    return ok
  }

  /** Ask the box to publish what it holds and its status now (an operator's "sync now"). */
  async sendSyncNow(tenantId: string, deviceId: string): Promise<boolean> {
    const ok = await this.#send(tenantId, deviceId, (seq) => ({
      v: 1,
      id: uuidv7(this.#o.c),
      seq,
      type: 'sync_now',
    }))
    if (ok) this.stats.sync_now++
    return ok
  }

  /** Send a config override; the box validates it against its own schema and applies it at its next start. */
  async sendConfig(tenantId: string, deviceId: string, config: ConfigOverride): Promise<boolean> {
    const ok = await this.#send(tenantId, deviceId, (seq) => ({
      v: 1,
      id: uuidv7(this.#o.c),
      seq,
      type: 'config',
      config,
    }))
    if (ok) this.stats.config++
    return ok
  }

  /** Push the tenant's list to every online, unrevoked box (after a wallet is frozen). Returns how many. */
  async publishRevocations(tenantId: string): Promise<number> {
    const list = await this.#list(tenantId, this.#o.clock(), true)
    const { rows } = await this.#o.db.query<{ id: string }>(
      'SELECT id FROM devices WHERE tenant_id = $1 AND online AND revoked_at IS NULL',
      [tenantId],
    )
    let n = 0
    for (const r of rows) {
      try {
        if (await this.sendRevocations(tenantId, r.id, list)) n++
      } catch (err) {
        this.stats.failed++
        this.#o.log.warn({ err, tenantId, deviceId: r.id }, 'revocation list not sent')
      }
    }
    return n
  }

  /** Look for tenants whose list changed since last read, and push it. Run by the timer; tests call it. */
  async poll(): Promise<void> {
    if (this.#polling) return
    this.#polling = true
    try {
      const { rows } = await this.#o.db.query<{ tenant_id: string }>(
        'SELECT DISTINCT tenant_id FROM devices WHERE online AND revoked_at IS NULL',
      )
      for (const { tenant_id: tenantId } of rows) {
        const before = this.#lists.get(tenantId)?.list.version
        const now = await this.#list(tenantId, this.#o.clock(), true)
        if (before !== undefined && now.version !== before) {
          const n = await this.publishRevocations(tenantId)
          this.#o.log.info({ tenantId, version: now.version, boxes: n }, 'revocation list pushed')
        }
      }
    } catch (err) {
      this.#o.log.warn({ err }, 'revocation poll failed')
    } finally {
      this.#polling = false
    }
  }

  #due(last: number | undefined, now: number): boolean {
    return last === undefined || now - last >= this.#o.minIntervalMs
  }

  async #list(tenantId: string, now: number, fresh = false): Promise<RevocationList> {
    const hit = this.#lists.get(tenantId)
    if (!fresh && hit && now - hit.at < Math.max(this.#o.pollMs, 1_000)) return hit.list
    const list = await currentRevocations(this.#o.db, this.#o.c, tenantId, now, this.#o.purseGraceSeconds)
    this.#lists.set(tenantId, { list, at: now })
    return list
  }

  async #send(tenantId: string, deviceId: string, build: (seq: number) => Command): Promise<boolean> {
    const { db, c, sealer, link } = this.#o
    const now = this.#o.clock()
    const dev = await db.query<{ revoked_at: Date | null }>(
      'SELECT revoked_at FROM devices WHERE tenant_id = $1 AND id = $2',
      [tenantId, deviceId],
    )
    if (!dev.rows[0] || dev.rows[0].revoked_at !== null) return false
    const seq = await nextCommandSeq(db, tenantId, deviceId, now)
    if (seq === null) return false
    const cmd = build(seq)
    const sealed = await sealBoxCommand(db, c, sealer, tenantId, deviceId, cmd)
    if (!sealed) return false
    if (sealed.payload.length > MQTT_PAYLOAD_MAX) {
      // The box would refuse it unread (about 15,000 wallet ids): say so loudly rather than send it.
      this.stats.failed++
      this.#o.log.error(
        { tenantId, deviceId, type: cmd.type, bytes: sealed.payload.length },
        'box command over the MQTT payload limit: not sent',
      )
      return false
    }
    const key = `${tenantId}/${deviceId}`
    this.#sent.set(key, { ...this.#sent.get(key), [cmd.type]: now })
    await link.publish(sealed.topic, sealed.payload)
    this.#o.log.info({ tenantId, deviceId, type: cmd.type, seq }, 'box command sent')
    return true
  }
}
