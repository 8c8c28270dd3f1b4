import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { promisify } from 'node:util'
import t from 'tap'
import { authenticate } from '../../src/auth/api-keys.js'
import { runCli } from '../../src/cli.js'
import { openDb } from '../../src/db/open.js'
import { issuerKeyring } from '../../src/issuer/index.js'
import { createTestDb, postgresAvailable } from '../support/databases.js'

function io(env: NodeJS.ProcessEnv, signal?: AbortSignal) {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: string[] = []
  const err: string[] = []
  stdout.on('data', (c) => out.push(String(c)))
  stderr.on('data', (c) => err.push(String(c)))
  return {
    io: { env, stdout, stderr, ...(signal ? { signal } : {}) },
    out: () => out.join(''),
    err: () => err.join(''),
  }
}

t.test('opg-bridge commands', async (t) => {
  // PostgreSQL when available (each command opens the store anew, which PostgreSQL does fast).
  const pg = await postgresAvailable()
  const dir = mkdtempSync(join(tmpdir(), 'opg-cli-'))
  let url = join(dir, 'pglite')
  if (pg) {
    const scratch = await createTestDb('postgres')
    await scratch.db.close()
    url = scratch.url
    t.teardown(() => scratch.drop())
  }
  const keyFile = join(dir, 'master.key')
  const env = { DATABASE_URL: url, OPG_MASTER_KEY_FILE: keyFile, OPG_LOG_LEVEL: 'silent', OPG_MODE: 'test' }
  const run = async (...argv: string[]) => {
    const c = io(env)
    const code = await runCli(argv, c.io)
    return { code, out: c.out(), err: c.err() }
  }

  await t.test('usage errors exit 2', async (t) => {
    t.equal((await run()).code, 2)
    const r = await run('tenant', 'frobnicate')
    t.equal(r.code, 2)
    t.match(r.err, /^opg-bridge: error usage: unknown command 'frobnicate'/)
    t.equal(r.err.trim().split('\n').length, 1, 'the error is one line')
    const missing = await run('payouts', 'build', 'Acme')
    t.equal(missing.code, 2)
    t.match(missing.err, /error usage: missing required argument 'currency'/)
    const noUrl = await run('fleet')
    t.equal(noUrl.code, 2)
    t.match(noUrl.err, /no bridge URL: give --url or set OPG_BRIDGE_URL/)
  })

  await t.test('tenant create refuses without a master key', async (t) => {
    const r = await run('tenant', 'create', 'Acme')
    t.equal(r.code, 1)
    t.match(r.err, /master key/)
  })

  await t.test('issuer init creates a private master key file', async (t) => {
    const r = await run('issuer', 'init')
    t.equal(r.code, 0, r.err)
    t.ok(existsSync(keyFile))
    t.equal(statSync(keyFile).mode & 0o777, 0o600)
  })

  let operatorKey = ''
  let tenantId = ''
  await t.test('tenant create prints the first operator key, which works', async (t) => {
    const r = await run('tenant', 'create', 'Acme', '--currency', 'INR')
    t.equal(r.code, 0, r.err)
    t.notMatch(r.err, /memory/, 'a durable database gets no warning')
    tenantId = /tenant Acme \(([0-9a-f]{16}), INR\)/.exec(r.out)?.[1] ?? ''
    t.ok(tenantId, 'the tenant id is printed')
    const m = /operator key \(shown once\): (opg_\S+)/.exec(r.out)
    t.ok(m)
    operatorKey = m![1]!
    const db = await openDb(url)
    try {
      const p = await authenticate(db, operatorKey)
      t.match(p, { role: 'operator', subjectId: null })
      t.equal((await issuerKeyring(db, p!.tenantId)).size, 1, 'the tenant has an issuer key')
    } finally {
      await db.close()
    }
    const again = await run('tenant', 'create', 'Acme')
    t.equal(again.code, 1)
    t.match(again.err, /conflict/)
  })

  await t.test('issuer rotate makes a new active key; the old one still verifies', async (t) => {
    const r = await run('issuer', 'rotate', 'Acme')
    t.equal(r.code, 0, r.err)
    const m = /active issuer key ([0-9a-f]+); still verifying: ([0-9a-f]+)/.exec(r.out)
    t.ok(m)
    t.not(m![1], m![2])
    t.equal((await run('issuer', 'rotate', 'Nobody')).code, 1)
  })

  await t.test('migrate reports an up-to-date database', async (t) => {
    const r = await run('migrate')
    t.equal(r.code, 0)
    t.match(r.out, /up to date/)
  })

  await t.test('payouts list takes the tenant id that tenant create printed', async (t) => {
    const byId = await run('payouts', 'list', tenantId)
    t.equal(byId.code, 0, byId.err)
    t.match(byId.out, 'no payouts yet')
    const json = await run('payouts', 'list', 'Acme', '--json')
    t.same(JSON.parse(json.out), { payouts: [] })
    const nobody = await run('payouts', 'list', 'Nobody')
    t.equal(nobody.code, 1)
    t.match(nobody.err, /^opg-bridge: error not_found: no tenant named Nobody/)
  })

  await t.test('an in-memory database is named on every command that writes', async (t) => {
    const c = io({ ...env, DATABASE_URL: 'memory:' })
    t.equal(await runCli(['migrate'], c.io), 0, c.err())
    t.match(c.err(), /warning: DATABASE_URL is memory: .* lost when it exits/)
  })

  await t.test('a bad configuration lists every problem and exits 78', async (t) => {
    const c = io({ ...env, OPG_HTTP_PORT: 'x', OPG_HOLD_PERIOD: 'later' })
    t.equal(await runCli(['migrate'], c.io), 78)
    t.match(c.err(), /http\.port/)
    t.match(c.err(), /holdPeriodSeconds/)
  })

  await t.test('start runs the bridge until told to stop', async (t) => {
    const ac = new AbortController()
    const c = io(
      { ...env, OPG_HTTP_PORT: '0', OPG_MQTT_EMBEDDED_PORT: '0', OPG_VERIFY_WORKERS: '0' },
      ac.signal,
    )
    const done = runCli(['start'], c.io)
    for (let i = 0; i < 600 && !c.out().includes('listening'); i++)
      await new Promise((r) => setTimeout(r, 50))
    const m = /api (http:\/\/\S+),/.exec(c.out())
    t.ok(m, c.err())
    const res = await fetch(`${m![1]}/v1/tenant`, { headers: { authorization: `Bearer ${operatorKey}` } })
    t.match(await res.json(), { name: 'Acme', currency: 'INR' })

    // The operator commands against that running bridge: JSON when stdout is not a terminal.
    const api = { OPG_BRIDGE_URL: m![1]!, OPG_OPERATOR_KEY: operatorKey }
    const op = async (...argv: string[]) => {
      const c = io(api)
      const code = await runCli(argv, c.io)
      return { code, out: c.out(), err: c.err() }
    }
    t.match(JSON.parse((await op('tenants')).out), {
      tenants: [{ id: tenantId, name: 'Acme', currency: 'INR' }],
    })
    const table = await op('tenants', '--table')
    t.match(table.out, /│ id\s+│ name\s+│ currency │/, 'a table on request')
    t.same(JSON.parse((await op('fleet')).out), { devices: [] })
    t.same(JSON.parse((await op('payments', '--status', 'held')).out), { payments: [] })
    t.same(JSON.parse((await op('holds')).out), { holds: [] })
    t.same(JSON.parse((await op('sms', '--json')).out), { messages: [] })
    t.same(JSON.parse((await op('claims', 'list')).out), { claims: [] })
    t.match(JSON.parse((await op('keys')).out), { keys: [{ role: 'operator' }] })
    const bad = await op('payments', '--status', 'lost')
    t.equal(bad.code, 2, 'a status the bridge does not have is a usage error')
    const wrongKey = await runCli(['fleet'], io({ ...api, OPG_OPERATOR_KEY: 'opg_nope' }).io)
    t.equal(wrongKey, 1, 'a refused key exits 1')

    // Commands to one box: a merchant and a box made through the API, then the box group.
    // biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field
    const apiPost = async (path: string, body: unknown): Promise<any> =>
      (
        await fetch(`${m![1]}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()
    const merchant = await apiPost('/v1/merchants', { name: 'Chai stall' })
    const device = await apiPost(`/v1/merchants/${merchant.merchant.id}/devices`, { label: 'till 1' })
    const boxId: string = device.device.id
    t.match(await op('box', 'sync-now', boxId), { code: 0, out: /sync now queued for box .* \(offline/ })
    const cfg = await op('box', 'config', boxId, '--max-unsynced', '1500.50', '--log-level', 'warn', '--json')
    t.equal(cfg.code, 0, cfg.err)
    t.match(JSON.parse(cfg.out), { deviceId: boxId, type: 'config', sent: true })
    const audit = await fetch(`${m![1]}/v1/audit`, { headers: { authorization: `Bearer ${operatorKey}` } })
    const entries = ((await audit.json()) as { entries: { action: string; detail: unknown }[] }).entries
    t.match(
      entries.find((e) => e.action === 'device.config'),
      { detail: { config: { exposure: { maxUnsyncedTotal: 150_050 }, log: { level: 'warn' } } } },
      'the amount was read as money in the tenant currency (INR, two decimals)',
    )
    t.match(await op('box', 'config', boxId, '--max-unsynced', '1,500'), { code: 2, err: /--max-unsynced/ })
    t.match(await op('box', 'config', boxId), { code: 2, err: /nothing to change/ })
    t.match(await op('box', 'revoke', boxId, '--reason', 'stolen'), { code: 0, out: /revoked at/ })
    t.match(await op('box', 'revoke', boxId, '--reason', 'stolen'), { code: 0, out: /already revoked/ })
    t.match(await op('box', 'sync-now', boxId), { code: 1, err: /device_revoked/ })
    ac.abort()
    t.equal(await done, 0)
  })
})

t.test('the bin launcher runs the CLI through tsx', async (t) => {
  const bin = new URL('../../bin/opg-bridge.js', import.meta.url).pathname
  const r = await promisify(execFile)(process.execPath, [bin, '--help'], { env: { PATH: process.env.PATH } })
  t.match(r.stdout, /payouts\s+batches of what is due/, 'commands come with descriptions')
  t.match(r.stdout, /Exit codes: 0 ok/)
  const sub = await promisify(execFile)(process.execPath, [bin, 'payouts', 'list', '--help'])
  t.match(sub.stdout, /Examples:\n\s+\$ opg-bridge payouts list Acme/)
  const v = await promisify(execFile)(process.execPath, [bin, '--version'])
  t.match(v.stdout, /^\d+\.\d+\.\d+/)
  const usage = await promisify(execFile)(process.execPath, [bin, 'payouts', 'list']).catch((e) => e)
  t.equal(usage.code, 2)
  t.match(usage.stderr, /^opg-bridge: error usage: missing required argument 'tenant'/)
})
