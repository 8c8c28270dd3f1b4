/**
 * The cross-tenant matrix: for every route of the API (taken from the OpenAPI document, so a new route
 * without an entry here fails), every key of another tenant — and every same-tenant key acting for a
 * different subject — is refused on tenant A's resources, and nothing of tenant A changes.
 */
import { randomBytes } from 'node:crypto'
import { nodeBackend } from '@opg/protocol/node'
import t from 'tap'
import type { Db } from '../../src/db/types.js'
import { BoxCommands } from '../../src/fleet/box-commands.js'
import { MasterKey } from '../../src/issuer/master-key.js'
import { forEachDatabase } from '../support/databases.js'
import { call, makeApi, makeWorld, type TestApi, testKey, type World } from './support.js'

interface Ids {
  merchantId: string
  deviceId: string
  walletId: string
  claimId: string
  txId: string
  keyId: string
}

/** Every route: method, path, and a body valid for the schema (so refusals come from scoping, not validation). */
const ROUTES: { method: string; path: string; body?: (ids: Ids) => unknown; scoped: boolean }[] = [
  { method: 'GET', path: '/v1/tenant', scoped: false },
  { method: 'GET', path: '/v1/issuer/keys', scoped: false },
  { method: 'GET', path: '/v1/keys', scoped: false },
  {
    method: 'POST',
    path: '/v1/keys',
    scoped: true,
    body: (i) => ({ role: 'wallet', subjectId: i.walletId }),
  },
  { method: 'DELETE', path: '/v1/keys/{keyId}', scoped: true },
  { method: 'POST', path: '/v1/keys/{keyId}/rotate', scoped: true, body: () => ({ graceSeconds: 0 }) },
  { method: 'GET', path: '/v1/audit', scoped: false },
  { method: 'GET', path: '/v1/tenant/limits', scoped: false },
  {
    method: 'PUT',
    path: '/v1/tenant/limits',
    scoped: false,
    body: () => ({ topupPerWalletDaily: 1, topupPerTenantDaily: 1 }),
  },
  { method: 'POST', path: '/v1/merchants', scoped: false, body: () => ({ name: 'intruder' }) },
  { method: 'GET', path: '/v1/merchants', scoped: false },
  { method: 'GET', path: '/v1/merchants/{merchantId}', scoped: true },
  { method: 'GET', path: '/v1/merchants/{merchantId}/payments', scoped: true },
  {
    method: 'PATCH',
    path: '/v1/merchants/{merchantId}',
    scoped: true,
    body: () => ({ phone: '+15550000077', bankAccountRef: 'acct_intruder' }),
  },
  {
    method: 'PATCH',
    path: '/v1/devices/{deviceId}',
    scoped: true,
    body: () => ({ modemNumber: '+15550000078' }),
  },
  { method: 'POST', path: '/v1/merchants/{merchantId}/devices', scoped: true, body: () => ({ label: 'x' }) },
  { method: 'GET', path: '/v1/devices/{deviceId}', scoped: true },
  {
    method: 'POST',
    path: '/v1/devices/{deviceId}/certificate',
    scoped: true,
    body: () => ({ signingKey: testKey(), encryptionKey: testKey() }),
  },
  { method: 'GET', path: '/v1/fleet', scoped: false },
  { method: 'GET', path: '/v1/refused-tokens', scoped: false },
  {
    method: 'POST',
    path: '/v1/wallets',
    scoped: false,
    body: () => ({ publicKey: testKey(), phone: '+15550000001' }),
  },
  { method: 'GET', path: '/v1/wallets/{walletId}', scoped: true },
  { method: 'GET', path: '/v1/wallets/{walletId}/balance', scoped: true },
  {
    method: 'POST',
    path: '/v1/wallets/{walletId}/credit',
    scoped: true,
    body: () => ({ amount: 500, ref: 'x' }),
  },
  { method: 'POST', path: '/v1/wallets/{walletId}/purses', scoped: true, body: () => ({ amount: 100 }) },
  { method: 'GET', path: '/v1/wallets/{walletId}/purses', scoped: true },
  {
    method: 'POST',
    path: '/v1/wallets/{walletId}/log',
    scoped: true,
    body: (i) => ({
      tokens: [Buffer.from(JSON.stringify({ txId: i.txId, merchantId: i.merchantId })).toString('base64url')],
    }),
  },
  { method: 'GET', path: '/v1/wallets/{walletId}/history', scoped: true },
  { method: 'POST', path: '/v1/wallets/{walletId}/freeze', scoped: true, body: () => ({ reason: 'x' }) },
  { method: 'POST', path: '/v1/wallets/{walletId}/unfreeze', scoped: true },
  {
    method: 'POST',
    path: '/v1/wallets/{walletId}/claims',
    scoped: true,
    body: (i) => ({ txId: i.txId, reason: 'not me' }),
  },
  { method: 'GET', path: '/v1/claims', scoped: false },
  { method: 'GET', path: '/v1/claims/{claimId}', scoped: true },
  {
    method: 'POST',
    path: '/v1/claims/{claimId}/resolve',
    scoped: true,
    body: () => ({ decision: 'reverse' }),
  },
  { method: 'GET', path: '/v1/payments/{txId}', scoped: true },
  { method: 'GET', path: '/v1/sandbox/sms', scoped: false },
  { method: 'POST', path: '/v1/devices/{deviceId}/revoke', scoped: true, body: () => ({ reason: 'x' }) },
  { method: 'POST', path: '/v1/devices/{deviceId}/sync-now', scoped: true },
  {
    method: 'POST',
    path: '/v1/devices/{deviceId}/config',
    scoped: true,
    body: () => ({ config: { log: { level: 'debug' } } }),
  },
  { method: 'GET', path: '/v1/payments', scoped: false },
  { method: 'GET', path: '/v1/sms', scoped: false },
  // Last: an intruding operator suspends only its own tenant, whose keys then stop (401 for the rest).
  { method: 'POST', path: '/v1/tenant/suspend', scoped: false, body: () => ({ reason: 'x' }) },
]

const fill = (path: string, ids: Ids) =>
  path.replace(/\{(\w+)\}/g, (_m, name: keyof Ids) => {
    const v = ids[name]
    if (!v) throw new Error(`no id for ${name}`)
    return v
  })

/** Everything of tenant A that a write through the API could change. */
async function snapshot(db: Db, api: TestApi, a: World): Promise<string> {
  const q = async (sql: string) => (await db.query(sql, [a.tenantId])).rows
  return JSON.stringify(
    {
      keys: await q('SELECT id, role, subject_id, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY id'),
      merchants: await q(
        'SELECT id, name, phone, bank_account_ref FROM merchants WHERE tenant_id = $1 ORDER BY id',
      ),
      devices: await q(
        'SELECT id, merchant_id, certificate, signing_key, modem_number, revoked_at FROM devices WHERE tenant_id = $1 ORDER BY id',
      ),
      tenant: await q('SELECT status FROM tenants WHERE id = $1'),
      audit: await q('SELECT count(*)::int AS n FROM audit_log WHERE tenant_id = $1'),
      wallets: await q('SELECT id, frozen, next_counter FROM wallets WHERE tenant_id = $1 ORDER BY id'),
      purses: await q('SELECT id FROM wallet_purses WHERE tenant_id = $1 ORDER BY id'),
      claims: await q('SELECT id, status FROM claims WHERE tenant_id = $1 ORDER BY id'),
      postings: await q('SELECT count(*)::int AS n FROM ledger_postings WHERE tenant_id = $1'),
      signed: api.issuer.signed.filter((s) => s.tenantId === a.tenantId).length,
      reconcilerCalls: api.reconciler.calls.filter((c) => c.includes(a.tenantId)),
      payments: [...api.reconciler.payments.values()].map((p) => `${p.txId}:${p.status}`),
    },
    (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
  )
}

t.test('no cross-tenant read or write on any route', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    // Box commands go through the real BoxCommands; the link records what would reach the broker.
    const sealer = new MasterKey(nodeBackend, randomBytes(16))
    const published: string[] = []
    const boxCommands = new BoxCommands({
      db,
      c: nodeBackend,
      sealer,
      pollMs: 0,
      link: { publish: async (topic) => void published.push(topic) },
    })
    const api = makeApi(db, { sealer, boxCommands })
    const a = await makeWorld(api, 'tenant A')
    const b = await makeWorld(api, 'tenant B')
    // A second merchant, device and wallet in A: same-tenant keys acting for another subject.
    const a2 = await makeWorld(api, 'tenant A2')
    const other = await (async () => {
      const m = await call(api.app, 'POST', '/v1/merchants', a.operator, { name: 'other shop' })
      const d = await call(api.app, 'POST', `/v1/merchants/${m.body.merchant.id}/devices`, a.operator, {})
      const w = await call(api.app, 'POST', '/v1/wallets', a.operator, {
        publicKey: testKey(),
        phone: '+15550000009',
      })
      return { merchant: m.body.apiKey.key, device: d.body.apiKey.key, wallet: w.body.apiKey.key }
    })()
    void a2

    // Give A a payment and an open claim, so every id in a path names something real in A.
    const txId = '01890a5d-ac96-774b-bcce-b302099a8057'
    api.reconciler.add(a.tenantId, { txId, walletId: a.walletId, merchantId: a.merchantId })
    const claim = await call(api.app, 'POST', `/v1/wallets/${a.walletId}/claims`, a.walletKey, {
      txId,
      reason: 'x',
    })
    t.equal(claim.status, 201)
    const ids: Ids = {
      merchantId: a.merchantId,
      deviceId: a.deviceId,
      walletId: a.walletId,
      claimId: claim.body.id,
      txId,
      keyId: a.walletKey.split('_')[1]!,
    }
    const aSecrets = [a.tenantId, a.merchantId, a.deviceId, a.walletId, claim.body.id, txId, ids.keyId]

    await t.test('the matrix covers every route of the OpenAPI document', async (t) => {
      const doc = await call(api.app, 'GET', '/openapi.json', null)
      const documented = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      )
      t.same(documented.sort(), ROUTES.map((r) => `${r.method} ${r.path}`).sort())
    })

    const before = await snapshot(db, api, a)
    const intruders: [string, string][] = [
      ['B operator', b.operator],
      ['B merchant', b.merchantKey],
      ['B device', b.deviceKey],
      ['B wallet', b.walletKey],
      ['A other merchant', other.merchant],
      ['A other device', other.device],
      ['A other wallet', other.wallet],
    ]
    for (const route of ROUTES) {
      await t.test(`${route.method} ${route.path}`, async (t) => {
        for (const [who, key] of intruders) {
          const r = await call(api.app, route.method, fill(route.path, ids), key, route.body?.(ids))
          if (route.scoped) {
            t.ok([403, 404].includes(r.status), `${who}: refused (${r.status} ${JSON.stringify(r.body)})`)
          } else {
            t.ok(r.status < 500, `${who}: no failure (${r.status})`)
          }
          const text = JSON.stringify(r.body)
          for (const s of aSecrets) {
            // a same-tenant key may learn its tenant id, nothing else of A
            if (who.startsWith('A') && s === a.tenantId) continue
            t.notOk(text.includes(s), `${who}: response reveals nothing of tenant A (${s})`)
          }
        }
      })
    }
    t.equal(await snapshot(db, api, a), before, 'tenant A is unchanged')
    t.same(
      published.filter((topic) => topic.includes(a.deviceId)),
      [],
      "no command reached tenant A's box",
    )

    await t.test('the owners themselves are allowed (the matrix is not vacuous)', async (t) => {
      t.equal((await call(api.app, 'GET', `/v1/wallets/${a.walletId}`, a.walletKey)).status, 200)
      t.equal((await call(api.app, 'GET', `/v1/devices/${a.deviceId}`, a.merchantKey)).status, 200)
      t.equal((await call(api.app, 'GET', `/v1/devices/${a.deviceId}`, a.deviceKey)).status, 200)
      t.equal((await call(api.app, 'GET', `/v1/claims/${ids.claimId}`, a.operator)).status, 200)
      t.equal((await call(api.app, 'GET', `/v1/payments/${txId}`, a.merchantKey)).status, 200)
    })
  })
})
