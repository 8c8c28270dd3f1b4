/**
 * The bridge's side of time and revocations (protocol SPEC.md §8.1): each command to a box carries a seq above
 * every earlier one (even after the counter row is restored from an old backup), a box whose status says its
 * clock is not trusted gets `time`, a box behind on the revocation list gets the list, a changed list is pushed
 * to every online box of the tenant and only that tenant, a revoked box gets nothing, and sends are spaced.
 * On PGlite and PostgreSQL; the link is an in-memory publisher the test opens with each box's key.
 */
import { type Command, CommandSchema, deriveKey, id8ToBytes, newId8, openMqtt } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import t from 'tap'
import type { Db } from '../../src/db/types.js'
import { BoxCommands, nextCommandSeq } from '../../src/fleet/box-commands.js'
import { deviceSecretAad } from '../../src/fleet/devices.js'
import { revokeDevice } from '../../src/fleet/operator-actions.js'
import { MasterKey } from '../../src/issuer/master-key.js'
import { forEachDatabase, seedTenant } from '../support/databases.js'

const c = nodeBackend
const T0 = Date.UTC(2026, 0, 1)

async function addBox(db: Db, sealer: MasterKey, tenantId: string, online = true) {
  const merchantId = newId8(c)
  await db.query('INSERT INTO merchants (tenant_id, id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    tenantId,
    merchantId,
    'shop',
  ])
  const id = newId8(c)
  const secret = c.randomBytes(16)
  await db.query(
    'INSERT INTO devices (tenant_id, id, merchant_id, sealed_secret, online) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, id, merchantId, sealer.seal(secret, deviceSecretAad(tenantId, id)), online],
  )
  return { tenantId, id, key: deriveKey(c, secret, 'mqtt', id8ToBytes(id)) }
}

const HOUR = 3600_000
const DAY = 24 * HOUR
/** Reconciliation's default purse grace: tokens are honoured this long after their certificate expired. */
const GRACE = 72 * HOUR

/** A wallet, with one purse certificate per expiry in `purses` (default: one valid for 72 h from T0). */
async function addWallet(
  db: Db,
  tenantId: string,
  frozen: boolean,
  purses: number[] = [T0 + 72 * HOUR],
): Promise<string> {
  const id = newId8(c)
  await db.query(
    'INSERT INTO wallets (tenant_id, id, public_key, currency, frozen) VALUES ($1, $2, $3, $4, $5)',
    [tenantId, id, c.randomBytes(32), 'EUR', frozen],
  )
  for (const [i, expiresAt] of purses.entries()) {
    await db.query(
      `INSERT INTO wallet_purses (tenant_id, id, wallet_id, amount, per_payment_limit, currency, counter_base,
         counter_end, issuer_key_id, certificate, issued_at, expires_at)
       VALUES ($1, $2, $3, 5000, 1000, 'EUR', $4, $5, 'k1', $6, $7, $8)`,
      [
        tenantId,
        newId8(c),
        id,
        i * 100,
        i * 100 + 100,
        c.randomBytes(64),
        new Date(expiresAt - 72 * HOUR),
        new Date(expiresAt),
      ],
    )
  }
  return id
}

/** `n` frozen wallets of the tenant, each with one certificate expiring at `expiresAt`. */
async function addFrozenWallets(db: Db, tenantId: string, n: number, expiresAt: number): Promise<void> {
  await db.query(
    `INSERT INTO wallets (tenant_id, id, public_key, currency, frozen)
     SELECT $1, lpad(to_hex(g), 16, '0'), decode(md5(g::text) || md5('k' || g::text), 'hex'), 'EUR', true
       FROM generate_series(1, $2::int) AS g`,
    [tenantId, n],
  )
  await db.query(
    `INSERT INTO wallet_purses (tenant_id, id, wallet_id, amount, per_payment_limit, currency, counter_base,
       counter_end, issuer_key_id, certificate, issued_at, expires_at)
     SELECT $1, lpad(to_hex(g), 16, '0'), lpad(to_hex(g), 16, '0'), 5000, 1000, 'EUR', 0, 100, 'k1',
            decode(md5(g::text), 'hex'), $3::timestamptz - interval '72 hours', $3::timestamptz
       FROM generate_series(1, $2::int) AS g`,
    [tenantId, n, new Date(expiresAt)],
  )
}

function rig(db: Db) {
  const sealer = new MasterKey(c, c.randomBytes(16))
  const sent: { topic: string; payload: Uint8Array }[] = []
  const clock = { now: T0 }
  const commands = new BoxCommands({
    db,
    c,
    sealer,
    clock: () => clock.now,
    pollMs: 0,
    minIntervalMs: 30_000,
    timeResyncMs: 6 * 3600_000,
    link: { publish: async (topic, payload) => void sent.push({ topic, payload }) },
  })
  /** The commands box `b` received (opened with its key; others' are not readable with it). */
  const inbox = (b: { tenantId: string; id: string; key: Uint8Array }): Command[] =>
    sent
      .filter((s) => s.topic === `opg/v1/${b.tenantId}/${b.id}/down/cmd`)
      .map((s) => openMqtt(c, b.key, s.topic, CommandSchema, s.payload))
  return { sealer, sent, clock, commands, inbox }
}

t.test('box commands', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    await t.test('seq only grows, and stays above the clock after a restored counter', async (t) => {
      const tenantId = await seedTenant(db)
      const { sealer } = rig(db)
      const box = await addBox(db, sealer, tenantId)
      const a = await nextCommandSeq(db, tenantId, box.id, T0)
      const b = await nextCommandSeq(db, tenantId, box.id, T0)
      t.equal(a, T0, 'floored at the bridge clock in ms')
      t.equal(b, T0 + 1, 'strictly increasing within one ms')
      // A backup from before those commands is restored: the counter row goes back.
      await db.query('UPDATE devices SET cmd_seq = 5 WHERE tenant_id = $1 AND id = $2', [tenantId, box.id])
      const c2 = await nextCommandSeq(db, tenantId, box.id, T0 + 10)
      t.ok(c2! > b!, 'still above every seq issued before the restore')
      t.equal(await nextCommandSeq(db, tenantId, '00000000000000ff', T0), null, 'unknown box')
    })

    await t.test('status → time when not trusted, revocations when behind; spaced', async (t) => {
      const tenantId = await seedTenant(db)
      const r = rig(db)
      const box = await addBox(db, r.sealer, tenantId)
      const frozen = await addWallet(db, tenantId, true)
      await addWallet(db, tenantId, false)
      await r.commands.onStatus(tenantId, box.id, { clock: 'unsynced', revocations: -1 })
      const got = r.inbox(box)
      t.match(got, [
        { type: 'time', now: T0 },
        { type: 'revocations', version: 1, wallets: [frozen] },
      ])
      t.ok(got[1]!.seq > got[0]!.seq, 'each command above the one before')

      r.clock.now += 10_000
      await r.commands.onStatus(tenantId, box.id, { clock: 'unsynced', revocations: -1 })
      t.equal(r.inbox(box).length, 2, 'nothing again within minIntervalMs: a refusing box cannot make a loop')

      r.clock.now += 60_000
      await r.commands.onStatus(tenantId, box.id, { clock: 'trusted', revocations: 1 })
      t.equal(r.inbox(box).length, 2, 'a box that is up to date gets nothing')

      r.clock.now += 6 * 3600_000
      await r.commands.onStatus(tenantId, box.id, { clock: 'trusted', revocations: 1 })
      t.match(r.inbox(box).slice(2), [{ type: 'time', now: r.clock.now }], 'time again after timeResyncMs')
    })

    await t.test('a list too large for one MQTT payload is not sent, and counted', async (t) => {
      const tenantId = await seedTenant(db)
      const r = rig(db)
      const box = await addBox(db, r.sealer, tenantId)
      // 16,000 wallets frozen within the last few days, each still holding a certificate.
      await addFrozenWallets(db, tenantId, 16_000, T0 + 24 * HOUR)
      await r.commands.onStatus(tenantId, box.id, { clock: 'unsynced', revocations: -1 })
      t.match(r.inbox(box), [{ type: 'time' }], 'the time still goes out')
      t.equal(r.commands.stats.failed, 1, 'the oversized list is a counted failure, not a silent drop')
    })

    await t.test('the list holds the frozen wallets that can still pay somewhere', async (t) => {
      const tenantId = await seedTenant(db)
      const r = rig(db)
      const box = await addBox(db, r.sealer, tenantId)
      // Years of freezes: 16,000 wallets whose last certificate expired 30 days ago would not fit one payload.
      await addFrozenWallets(db, tenantId, 16_000, T0 - 30 * DAY)
      const live = await addWallet(db, tenantId, true, [T0 + 12 * HOUR])
      const renewed = await addWallet(db, tenantId, true, [T0 - 20 * DAY, T0 + 60 * HOUR])
      const inGrace = await addWallet(db, tenantId, true, [T0 - 2 * DAY])
      await addWallet(db, tenantId, true, []) // never loaded a purse: cannot pay offline
      await addWallet(db, tenantId, true, [T0 - GRACE - 1]) // honoured by nobody since just before T0
      await addWallet(db, tenantId, false, [T0 + 72 * HOUR]) // not frozen
      await r.commands.onStatus(tenantId, box.id, { clock: 'trusted', revocations: -1 })
      const got = r.inbox(box).filter((m) => m.type === 'revocations')
      t.same(
        got.map((m) => m.type === 'revocations' && m.wallets),
        [[live, renewed, inGrace].sort()],
        'frozen wallets with a certificate that a box or the bridge still honours, and only those',
      )
      t.equal(r.commands.stats.failed, 0, 'sent: the list no longer grows with every wallet ever frozen')
    })

    await t.test('a wallet leaves the list within a day after its last certificate’s grace', async (t) => {
      const tenantId = await seedTenant(db)
      const r = rig(db)
      const box = await addBox(db, r.sealer, tenantId)
      const expiresAt = T0 + 84 * HOUR // noon, three days after T0
      const w = await addWallet(db, tenantId, true, [expiresAt])
      const lists = () => r.inbox(box).filter((m) => m.type === 'revocations')
      await r.commands.poll()
      t.equal(r.sent.length, 0, 'the first poll learns the list')
      await r.commands.onStatus(tenantId, box.id, { clock: 'trusted', revocations: -1 })
      t.match(lists(), [{ version: 1, wallets: [w] }])

      r.clock.now = expiresAt + GRACE + HOUR
      await r.commands.poll()
      t.equal(lists().length, 1, 'past the grace, within the same UTC day: still listed, nothing new')
      r.clock.now = expiresAt + GRACE + 12 * HOUR // midnight: the horizon moves to the next day
      await r.commands.poll()
      t.match(
        lists().at(-1),
        { version: 2, wallets: [] },
        'dropped at the next UTC day, pushed as a new version',
      )
      r.clock.now += 60_000
      await r.commands.poll()
      t.equal(lists().length, 2, 'and not pushed again')
    })

    await t.test('a changed list is pushed to every online box of that tenant only', async (t) => {
      const tenantA = await seedTenant(db)
      const tenantB = await seedTenant(db)
      const r = rig(db)
      const a1 = await addBox(db, r.sealer, tenantA)
      const a2 = await addBox(db, r.sealer, tenantA)
      const aOff = await addBox(db, r.sealer, tenantA, false)
      const aRevoked = await addBox(db, r.sealer, tenantA)
      await revokeDevice(db, tenantA, aRevoked.id, { actor: null, reason: null, now: new Date(T0) })
      const b1 = await addBox(db, r.sealer, tenantB)
      const w = await addWallet(db, tenantA, false)
      await r.commands.poll() // learns the current lists
      t.equal(r.sent.length, 0, 'nothing changed yet')

      await db.query('UPDATE wallets SET frozen = true WHERE tenant_id = $1 AND id = $2', [tenantA, w])
      await r.commands.poll()
      for (const b of [a1, a2]) t.match(r.inbox(b), [{ type: 'revocations', version: 1, wallets: [w] }])
      t.same(r.inbox(aOff), [], 'an offline box gets it from its status when it reconnects')
      t.same(r.inbox(aRevoked), [], 'a revoked box gets nothing')
      t.same(r.inbox(b1), [], 'another tenant gets nothing')

      await r.commands.poll()
      t.equal(r.sent.length, 2, 'the same list is not pushed twice')
      await db.query('UPDATE wallets SET frozen = false WHERE tenant_id = $1 AND id = $2', [tenantA, w])
      r.clock.now += 60_000
      await r.commands.poll()
      t.match(
        r.inbox(a1).at(-1),
        { type: 'revocations', version: 2, wallets: [] },
        'unfreezing is a new version',
      )
      await r.commands.onStatus(tenantA, aOff.id, { clock: 'trusted', revocations: -1 })
      t.match(
        r.inbox(aOff),
        [{ type: 'time' }, { type: 'revocations', version: 2 }],
        'caught up on reconnect',
      )
    })
  })
})
