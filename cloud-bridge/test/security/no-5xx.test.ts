/**
 * Property test of every route of the running bridge, on PGlite and PostgreSQL: bodies derived from the
 * OpenAPI document's own schemas (near and far from valid), path parameters that exist, belong to nobody or
 * are junk, sent with every role's key — the answer is never a 5xx. A 5xx here is a missing typed error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeBackend as c } from '@opg/protocol/node'
import fc from 'fast-check'
import t from 'tap'
import { Bridge } from '../../src/bridge.js'
import { loadConfig } from '../../src/config.js'
import { initIssuer } from '../../src/issuer/keys.js'
import { loadMasterKey } from '../../src/issuer/master-key.js'
import { createLogger } from '../../src/logger.js'
import { call, makeWorld } from '../api/support.js'
import { createTestDb, postgresAvailable } from '../support/databases.js'
import { type JsonSchema, nearSchema } from './schema-fuzz.js'

type Operation = { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }

const RUNS = Number(process.env.OPG_FUZZ_RUNS ?? 20)
const pg = await postgresAvailable()
// Hundreds of requests per engine, some waiting for a card webhook: more than the default file timeout.
t.setTimeout(900_000)

for (const kind of ['pglite', 'postgres'] as const) {
  t.test(
    `no route answers 5xx to schema-derived bad input (${kind})`,
    { skip: kind === 'postgres' && !pg ? 'no PostgreSQL' : false, timeout: 450_000 },
    async (t) => {
      const scratch = await createTestDb(kind)
      if (kind === 'pglite') await scratch.db.close()
      t.teardown(() => (kind === 'postgres' ? scratch.drop() : undefined))
      const dir = mkdtempSync(join(tmpdir(), 'opg-fuzz-'))
      const keyFile = join(dir, 'master.key')
      writeFileSync(keyFile, Buffer.from(c.randomBytes(16)).toString('hex'))
      const config = loadConfig({
        env: {
          DATABASE_URL: scratch.url,
          OPG_MASTER_KEY_FILE: keyFile,
          OPG_MODE: 'test',
          OPG_HTTP_PORT: '0',
          OPG_MQTT_EMBEDDED_PORT: '0',
          OPG_VERIFY_WORKERS: '0',
          OPG_LOG_LEVEL: 'silent',
          // Every request must reach its handler: the limits are tested elsewhere.
          OPG_RATE_LIMIT_PER_KEY: '1000000',
        },
      })
      const bridge = new Bridge({ config, logger: createLogger('silent') })
      await bridge.start()
      t.teardown(() => bridge.stop())
      const app = bridge.app
      const w = await makeWorld(bridge as unknown as Parameters<typeof makeWorld>[0], 'fuzz')
      // A tenant made by the CLI has an issuer key; purses and node certificates need it.
      await initIssuer(bridge.db, { c, sealer: loadMasterKey(c, keyFile) }, w.tenantId)
      const inv = await call(app, 'POST', '/v1/invoices', w.merchantKey, {
        reference: 'FUZZ-1',
        amount: 100,
        currency: 'EUR',
      })
      t.equal(inv.status, 201)
      const real: Record<string, string[]> = {
        merchantId: [w.merchantId],
        deviceId: [w.deviceId],
        walletId: [w.walletId],
        invoiceId: [inv.body.id],
      }
      const param = (name: string) =>
        fc.oneof(
          fc.constantFrom(...(real[name] ?? ['0f1e2d3c4b5a6978'])),
          fc.stringMatching(/^[0-9a-f]{16}$/),
          fc.constantFrom('x', '%00', '00000000-0000-7000-8000-000000000000', 'a'.repeat(300)),
        )
      const keys = [w.operator, w.merchantKey, w.deviceKey, w.walletKey]

      const doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'opg', version: '1' } })
      const routes = Object.entries(doc.paths ?? {}).flatMap(([path, ops]) =>
        Object.entries(ops as Record<string, Operation>).map(([method, op]) => ({ path, method, op })),
      )
      t.ok(routes.length > 30, `${routes.length} routes under test`)
      for (const { path, method, op } of routes) {
        const schema = op.requestBody?.content?.['application/json']?.schema
        const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)
        const arb = fc.record({
          params: fc.tuple(...names.map(param)),
          body: schema ? nearSchema(schema, doc) : fc.constant(undefined),
          key: fc.constantFrom(...keys),
        })
        const bad: string[] = []
        await fc
          .assert(
            fc.asyncProperty(arb, async ({ params, body, key }) => {
              let url = path
              names.forEach((n, i) => {
                url = url.replace(`{${n}}`, encodeURIComponent(String(params[i])))
              })
              const res = await call(app, method.toUpperCase(), url, key, body)
              if (res.status >= 500)
                bad.push(`${method} ${url} ${JSON.stringify(body)?.slice(0, 300)} → ${res.status}`)
              return res.status < 500
            }),
            { numRuns: RUNS },
          )
          .catch((err: Error) => t.fail(`${method} ${path}: ${bad[0] ?? err.message.slice(0, 500)}`))
      }
      t.pass('every route answered with a typed status')
    },
  )
}
