// The demo scenario against real services: PostgreSQL (a fresh database per run, dropped afterwards) and
// Mosquitto (MQTT 5, the bridge on a shared subscription). Skipped with a notice when they are not reachable,
// except under CI, where that fails.
import { randomBytes } from 'node:crypto'
import mqtt from 'mqtt'
import t from 'tap'
import { runDemo } from '../src/demo.js'
import {
  createScratchDb,
  postgresReachable,
  TEST_MQTT_URL,
  TEST_PG_URL,
  tcpReachable,
} from '../src/services.js'

const reachable = (await postgresReachable()) && (await tcpReachable(TEST_MQTT_URL))
const skip = reachable ? false : `PostgreSQL (${TEST_PG_URL}) or Mosquitto (${TEST_MQTT_URL}) not reachable`
if (!reachable && process.env.CI) t.fail(String(skip))

t.test('the demo scenario on PostgreSQL + Mosquitto', { skip }, async (t) => {
  const scratch = await createScratchDb()
  t.teardown(() => scratch.drop())
  // The bridge keeps a persistent session on the broker; end it afterwards so the broker does not queue
  // other runs' messages for it for a week.
  const clientId = `opg-e2e-${process.pid}-${randomBytes(3).toString('hex')}`
  // It consumes on one connection per core (at least 2): the first keeps the client id, the others add -1, -2….
  t.teardown(async () => {
    for (const id of [clientId, ...Array.from({ length: 8 }, (_, i) => `${clientId}-${i + 1}`)]) {
      const c = await mqtt.connectAsync(TEST_MQTT_URL, {
        clientId: id,
        clean: true,
        protocolVersion: 5,
        properties: { sessionExpiryInterval: 0 },
      })
      await c.endAsync()
    }
  })
  const lines: string[] = []
  const { ok, narrator } = await runDemo({
    out: (l) => lines.push(l),
    holdSeconds: 4,
    env: { DATABASE_URL: scratch.url, MQTT_URL: TEST_MQTT_URL, OPG_MQTT_CLIENT_ID: clientId },
  })
  const failed = narrator.checks.filter((c) => !c.ok)
  t.same(failed, [], 'no outcome differs from the expected one')
  t.ok(ok, 'the demo reports success')
  if (!ok) t.comment(lines.join('\n'))
  t.ok(
    lines.some((l) => l.includes('database postgres://')),
    'it ran on PostgreSQL',
  )
})
