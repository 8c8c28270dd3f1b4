/**
 * The console over the real app and a real database (PGlite and PostgreSQL): sign-in and its cookie, CSRF and
 * origin checks, session end, tenant and merchant isolation, money formatted as money, the claims action, the
 * sticker, and the alert panel.
 */
import {
  decodeSticker,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  issueNodeCertificate,
} from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { stickerContent } from '../../src/console/sticker.js'
import type { Db } from '../../src/db/types.js'
import { call, makeApi, makeWorld, type TestApi, type World } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'
import { signedIn } from './support.js'

async function boxReports(
  db: Db,
  w: World,
  o: { online: boolean; pending: number; amount: number; seenAgoMs: number; now: Date },
) {
  await db.query(
    `UPDATE devices SET online = $3, pending_count = $4, last_seen_at = $5, status = $6::jsonb
      WHERE tenant_id = $1 AND id = $2`,
    [
      w.tenantId,
      w.deviceId,
      o.online,
      o.pending,
      new Date(o.now.getTime() - o.seenAgoMs),
      JSON.stringify({
        v: 1,
        online: true,
        at: 0,
        pending: o.pending,
        pendingAmount: { EUR: o.amount },
        storageBytes: 0,
        version: '0.1.0',
      }),
    ],
  )
}

async function certify(db: Db, w: World): Promise<void> {
  const issuer = generateSigningKeyPair(c)
  const cert = issueNodeCertificate(c, issuer, {
    tenantId: w.tenantId,
    merchantId: w.merchantId,
    deviceId: w.deviceId,
    signingKey: generateSigningKeyPair(c).publicKey,
    encryptionKey: generateEncryptionKeyPair(c).publicKey,
    issuedAt: 1,
    expiresAt: 2_000_000_000,
  })
  await db.query('UPDATE devices SET certificate = $3 WHERE tenant_id = $1 AND id = $2', [
    w.tenantId,
    w.deviceId,
    cert.bytes,
  ])
}

async function setup(db: Db): Promise<{ api: TestApi; a: World; b: World }> {
  const api = makeApi(db)
  const a = await makeWorld(api, 'alpha')
  const b = await makeWorld(api, 'beta')
  return { api, a, b }
}

t.test('sign-in, cookie, pages and sign-out', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const { api, a } = await setup(db)
    const anon = await api.app.request('http://127.0.0.1/console/fleet')
    t.equal(anon.status, 303, 'no session: redirected')
    t.equal(anon.headers.get('location'), '/console/login')

    const login = await api.app.request('http://127.0.0.1/console/login')
    t.equal(login.status, 200)
    const csp = login.headers.get('content-security-policy') ?? ''
    t.match(csp, "script-src 'self'", 'strict CSP: scripts from the bridge only')
    t.notMatch(csp, 'unsafe-inline')

    const wallet = await signedIn(api.app, a.walletKey)
    t.equal(wallet.res.status, 401, 'a wallet key cannot sign in')
    t.match(await wallet.res.text(), 'Only operator and merchant keys')
    const wrong = await signedIn(api.app, `${a.operator}x`)
    t.equal(wrong.res.status, 401)
    t.equal(wrong.b.cookie, null, 'no cookie for a refused sign-in')

    const { b, res } = await signedIn(api.app, a.operator)
    t.equal(res.status, 303)
    t.equal(res.headers.get('location'), '/console/fleet')
    const cookie = res.headers.get('set-cookie') ?? ''
    t.match(cookie, /HttpOnly/i)
    t.match(cookie, /SameSite=Strict/i)
    t.notMatch(cookie, /Secure/i, 'plain HTTP on loopback: no Secure flag (the local system)')

    await boxReports(db, a, {
      online: false,
      pending: 3,
      amount: 1_250,
      seenAgoMs: 7 * 3_600_000,
      now: api.now,
    })
    const fleet = await b.get('/console/fleet')
    t.equal(fleet.status, 200)
    const html = await fleet.text()
    t.match(html, a.deviceId, 'the box is listed')
    t.match(html, '12.50 EUR', 'unsynced value as money')
    t.notMatch(html, /\b1250 EUR\b/, 'never minor units labelled as currency')
    t.match(html, 'unseen for 7 h', 'the silent box raises an alert')

    const out = await b.post('/console/logout', { csrf: await b.csrf() })
    t.equal(out.status, 303)
    t.equal((await b.get('/console/fleet')).status, 303, 'signed out: back to sign-in')
  })
})

t.test('a box behind on the revocation list is counted and named', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const { api, a } = await setup(db)
    const { b } = await signedIn(api.app, a.operator)
    const figure = async () => {
      const html = await (await b.get('/console/fleet')).text()
      return /id="revocations-behind"[\s\S]*?<span class="value">(\d+)</.exec(html)?.[1]
    }
    const statusLine = async () => {
      const html = await (await b.get(`/console/boxes/${a.deviceId}`)).text()
      return /<dt>Revocation list<\/dt><dd>([^<]*)<\/dd>/.exec(html)?.[1]
    }
    /** The box reports the list version it applies. */
    const reports = (revocations: number | undefined) =>
      db.query(`UPDATE devices SET status = $3::jsonb WHERE tenant_id = $1 AND id = $2`, [
        a.tenantId,
        a.deviceId,
        JSON.stringify({
          v: 1,
          online: true,
          version: '0.1.0',
          ...(revocations !== undefined ? { revocations } : {}),
        }),
      ])
    await reports(-1)
    t.equal(await figure(), '0', 'no list yet: nobody is behind')
    t.equal(await statusLine(), 'none', 'the box applies none, and there is none')

    for (const version of [1, 2]) {
      await db.query(
        'INSERT INTO revocation_lists (tenant_id, version, digest, wallets, created_at) VALUES ($1, $2, $3, 1, $4)',
        [a.tenantId, version, new Uint8Array(32).fill(version), api.now],
      )
    }
    await reports(1)
    t.equal(await figure(), '1', 'counted on the fleet page')
    t.equal(await statusLine(), 'version 1: behind the current version 2')
    await reports(undefined)
    t.equal(
      await statusLine(),
      'none: behind the current version 2',
      'a status that does not say counts as none',
    )
    await reports(2)
    t.equal(await figure(), '0')
    t.equal(await statusLine(), 'version 2 (current)')
  })
})

t.test('the cookie is Secure outside loopback', async (t) => {
  await forEachDatabase(
    t,
    async (t, db) => {
      const { api, a } = await setup(db)
      const { res } = await signedIn(api.app, a.operator, 'https://bridge.example.org')
      t.match(res.headers.get('set-cookie') ?? '', /Secure/)
    },
    { kinds: ['pglite'] },
  )
})

t.test('forms need the session token and this origin', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const { api, a } = await setup(db)
    await db.query(
      `INSERT INTO claims (tenant_id, id, tx_id, wallet_id, reason, status) VALUES ($1, 'c1c1c1c1c1c1c1c1', $2, $3, 'not me', 'open')`,
      [a.tenantId, '01900000-0000-7000-8000-000000000001', a.walletId],
    )
    const { b } = await signedIn(api.app, a.operator)
    const path = '/console/claims/c1c1c1c1c1c1c1c1/resolve'
    t.equal((await b.post(path, { decision: 'reverse' })).status, 403, 'no token: refused')
    t.equal((await b.post(path, { decision: 'reverse', csrf: 'forged' })).status, 403, 'wrong token: refused')
    const token = await b.csrf('/console/money')
    const cross = await b.post(path, { decision: 'reverse', csrf: token }, { origin: 'https://evil.example' })
    t.equal(cross.status, 403, 'another origin: refused')
    t.same(
      api.reconciler.calls.filter((x) => x.startsWith('resolve')),
      [],
      'nothing was resolved',
    )

    const ok = await b.post(path, { decision: 'reverse', csrf: token })
    t.equal(ok.status, 303)
    t.same(
      api.reconciler.calls.filter((x) => x.startsWith('resolve')),
      [`resolve ${a.tenantId} 01900000-0000-7000-8000-000000000001 reverse`],
    )
    const claim = await call(api.app, 'GET', '/v1/claims/c1c1c1c1c1c1c1c1', a.operator)
    t.equal(claim.body.claim?.status ?? claim.body.status, 'reversed', 'the claim is closed')
    t.match(
      await (await b.get('/console/money?resolved=c1c1c1c1c1c1c1c1')).text(),
      'Claim c1c1c1c1c1c1c1c1 resolved',
    )
  })
})

t.test('tenant and merchant isolation', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    const { api, a, b: other } = await setup(db)
    await certify(db, a)
    const beta = await signedIn(api.app, other.operator)
    const fleet = await (await beta.b.get('/console/fleet')).text()
    t.notMatch(fleet, a.deviceId, "another tenant's box is not listed")
    t.equal((await beta.b.get(`/console/boxes/${a.deviceId}`)).status, 404)
    t.equal((await beta.b.get(`/console/boxes/${a.deviceId}/sticker.svg`)).status, 404)

    // A second merchant of tenant alpha with its own box.
    const m2 = await call(api.app, 'POST', '/v1/merchants', a.operator, { name: 'second shop' })
    const d2 = await call(api.app, 'POST', `/v1/merchants/${m2.body.merchant.id}/devices`, a.operator, {
      label: 'till 9',
    })
    const merchant = await signedIn(api.app, a.merchantKey)
    t.equal(merchant.res.headers.get('location'), '/console/shop')
    const shop = await (await merchant.b.get('/console/shop')).text()
    t.match(shop, a.deviceId, 'the merchant sees its box')
    t.notMatch(shop, d2.body.device.id, "but not another merchant's")
    t.equal((await merchant.b.get('/console/fleet')).status, 404, 'operator pages are not for merchants')
    t.equal((await merchant.b.get(`/console/boxes/${d2.body.device.id}/sticker.svg`)).status, 404)

    const sticker = await merchant.b.get(`/console/boxes/${a.deviceId}/sticker.svg`)
    t.equal(sticker.status, 200)
    t.match(sticker.headers.get('content-type') ?? '', 'image/svg+xml')
    const svg = await sticker.text()
    t.match(svg, 'alpha shop', 'caption in real text')
  })
})

t.test('a revoked key or an expired session ends the session', async (t) => {
  await forEachDatabase(
    t,
    async (t, db) => {
      const { api, a } = await setup(db)
      const first = await signedIn(api.app, a.operator)
      t.equal((await first.b.get('/console/fleet')).status, 200)
      api.now = new Date(api.now.getTime() + 9 * 3_600_000)
      t.equal((await first.b.get('/console/fleet')).status, 303, 'expired after 8 h')

      const second = await signedIn(api.app, a.operator)
      const keyId = a.operator.split('_')[1]
      await db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyId])
      t.equal((await second.b.get('/console/fleet')).status, 303, 'revoked key: session over')
    },
    { kinds: ['pglite'] },
  )
})

t.test('the sticker names the box it is printed for', async (t) => {
  await forEachDatabase(
    t,
    async (t, db) => {
      const { api, a } = await setup(db)
      await certify(db, a)
      const content = await stickerContent(db, { tenantId: a.tenantId, merchantId: null }, a.deviceId)
      if (!content) throw new Error('no sticker')
      const decoded = decodeSticker(content.text)
      t.equal(decoded.nodeCert.deviceId, a.deviceId)
      t.equal(decoded.nodeCert.merchantId, a.merchantId)
      t.equal(decoded.merchantName, 'alpha shop')
      const { b } = await signedIn(api.app, a.operator)
      const svg = await (await b.get(`/console/boxes/${a.deviceId}/sticker.svg`)).text()
      t.match(svg, `box ${content.tag}`)
      t.match(svg, /<path d="M\d/, 'the QR is drawn')
      t.equal(
        await stickerContent(db, { tenantId: a.tenantId, merchantId: 'ffffffffffffffff' }, a.deviceId),
        null,
      )
    },
    { kinds: ['pglite'] },
  )
})
