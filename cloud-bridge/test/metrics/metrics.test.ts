/**
 * /metrics over the real app and database: refused without the token, then parsed with a Prometheus
 * text-format parser (and linted by promtool where it is installed — CI installs it) with the fleet's
 * figures read back. The alert rules are checked and unit-tested by promtool.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import t from 'tap'
import { activeAlerts } from '../../src/console/alerts.js'
import { boxes } from '../../src/console/box-queries.js'
import { BridgeMetrics } from '../../src/metrics/metrics.js'
import { call, makeApi, makeWorld } from '../api/support.js'
import { forEachDatabase } from '../support/databases.js'

const promtool = spawnSync('promtool', ['--version']).status === 0
const ALERTS = fileURLToPath(new URL('../../alerts/', import.meta.url))

type Family = { name: string; metrics: { labels?: Record<string, string>; value?: string }[] }
const value = (fams: Family[], name: string, labels: Record<string, string>): number | undefined => {
  const m = fams
    .find((f) => f.name === name)
    ?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v))
  return m?.value === undefined ? undefined : Number(m.value)
}

t.test('/metrics: token, exposition format, fleet figures', async (t) => {
  await forEachDatabase(t, async (t, db) => {
    let now = new Date()
    const metrics = new BridgeMetrics(db, {
      token: 'scrape-secret',
      silentBoxMs: 6 * 3_600_000,
      now: () => now,
    })
    const api = makeApi(db, { metrics })
    now = api.now
    const a = await makeWorld(api, 'alpha')
    await db.query(
      `UPDATE devices SET online = false, pending_count = 2, last_seen_at = $3, status = $4::jsonb
        WHERE tenant_id = $1 AND id = $2`,
      [
        a.tenantId,
        a.deviceId,
        new Date(now.getTime() - 7 * 3_600_000),
        JSON.stringify({
          pendingAmount: { EUR: 1_250 },
          storage: { quarantined: 1, lostRecords: 1, powerFailAt: now.getTime() - 7 * 3_600_000 },
        }),
      ],
    )
    await db.query('UPDATE tenants SET exposure_limit = 1000 WHERE id = $1', [a.tenantId])
    await call(api.app, 'GET', '/health', null)

    t.equal((await api.app.request('/metrics')).status, 401, 'no token: refused')
    const wrong = await api.app.request('/metrics', { headers: { authorization: 'Bearer nope' } })
    t.equal(wrong.status, 401, 'wrong token: refused')
    const res = await api.app.request('/metrics', { headers: { authorization: 'Bearer scrape-secret' } })
    t.equal(res.status, 200)
    t.match(res.headers.get('content-type') ?? '', 'text/plain')
    const text = await res.text()
    const fams = parsePrometheusTextFormat(text) as Family[]
    const tenant = a.tenantId
    t.equal(value(fams, 'opg_unsynced_exposure_minor', { tenant, currency: 'EUR' }), 1250)
    t.equal(value(fams, 'opg_exposure_limit_minor', { tenant, currency: 'EUR' }), 1000)
    t.equal(value(fams, 'opg_unsynced_payments', { tenant }), 2)
    t.equal(value(fams, 'opg_boxes', { tenant, state: 'offline' }), 1)
    t.equal(value(fams, 'opg_boxes_silent_with_payments', { tenant }), 1, 'unseen 7 h with payments: silent')
    // Storage health from the box's status: one box per kind it reports, zero for the others.
    t.equal(value(fams, 'opg_boxes_storage_alert', { tenant, kind: 'quarantined' }), 1)
    t.equal(value(fams, 'opg_boxes_storage_alert', { tenant, kind: 'lost_records' }), 1)
    t.equal(value(fams, 'opg_boxes_storage_alert', { tenant, kind: 'power_fail' }), 1)
    t.equal(value(fams, 'opg_boxes_storage_alert', { tenant, kind: 'free_low' }), 0)
    // The console raises the same condition from the database.
    const fleet = await boxes(db, { tenantId: tenant, merchantId: null }, now)
    const alerts = await activeAlerts(db, tenant, fleet, {}, now)
    const storage = alerts.find((x) => x.kind === 'box_storage')
    t.equal(storage?.severity, 'critical')
    t.match(storage?.message ?? '', /1 confirmed record\(s\) lost.*quarantined.*power failed/)
    t.ok(
      fams.some((f) => f.name === 'opg_http_requests_total'),
      'request counter',
    )
    t.ok(
      fams.some((f) => f.name === 'opg_bridge_process_resident_memory_bytes'),
      'process metrics',
    )

    if (promtool) {
      // prom-client's own Node.js gauges end in _total, which promtool's linter flags; ours must be clean.
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
      const problems = `${lint.stdout}${lint.stderr}`
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.includes('opg_bridge_nodejs_'))
      t.same(problems, [], 'promtool check metrics: nothing to fix in opg metrics')
    } else if (process.env.CI) {
      t.fail('promtool is not installed (CI installs Debian prometheus)')
    }
  })
})

t.test(
  'alert rules: valid, and each fires exactly when it should',
  { skip: !promtool && !process.env.CI ? 'promtool not installed' : false },
  async (t) => {
    const check = execFileSync('promtool', ['check', 'rules', `${ALERTS}opg-rules.yml`], { encoding: 'utf8' })
    t.match(check, 'SUCCESS: 7 rules found')
    const run = spawnSync('promtool', ['test', 'rules', `${ALERTS}opg-rules.test.yml`], { encoding: 'utf8' })
    t.equal(run.status, 0, run.stdout + run.stderr)
  },
)
