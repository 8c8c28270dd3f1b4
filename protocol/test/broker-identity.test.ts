// Broker logins and the sealed last will: what lets the broker and the bridge believe a box is who it says.
import t from 'tap'
import {
  brokerPassword,
  brokerUsername,
  deriveKey,
  id8ToBytes,
  openMqtt,
  parseBrokerUsername,
  StatusSchema,
  sealMqtt,
  topic,
} from '../src/index.js'
import { backends } from './backends.js'
import { code } from './fixtures.js'

const tenantId = '0123456789abcdef'
const deviceId = 'fedcba9876543210'

t.test('a box login names its tenant and device and parses back', async (t) => {
  const u = brokerUsername(tenantId, deviceId)
  t.equal(u, `${tenantId}.${deviceId}`)
  t.same(parseBrokerUsername(u), { tenantId, deviceId })
  for (const bad of [
    'opg-bridge',
    `${tenantId}/${deviceId}`,
    `${tenantId}.${deviceId}x`,
    `${tenantId}.#`,
    '',
  ])
    t.equal(parseBrokerUsername(bad), null, `${JSON.stringify(bad)} is not a box login`)
  t.equal(
    code(() => brokerUsername('+', deviceId)),
    'bad_field',
    'wildcards never make a login',
  )
})

for (const c of backends) {
  t.test(`${c.name}: the broker password is its own purpose key, per device`, async (t) => {
    const secret = c.randomBytes(16)
    const p = brokerPassword(c, secret, deviceId)
    t.match(p, /^[0-9a-f]{32}$/)
    t.equal(brokerPassword(c, secret, deviceId), p, 'both ends derive the same')
    t.not(brokerPassword(c, secret, tenantId), p, 'bound to the device id')
    t.not(brokerPassword(c, c.randomBytes(16), deviceId), p, 'bound to the secret')
    const mqttKey = Buffer.from(deriveKey(c, secret, 'mqtt', id8ToBytes(deviceId))).toString('hex')
    t.not(p, mqttKey, 'the broker never learns the payload key')
  })

  t.test(`${c.name}: the last will is sealed and names its session`, async (t) => {
    const key = c.randomBytes(16)
    const status = topic(tenantId, deviceId, 'up/status')
    const will = { v: 1 as const, online: false as const, session: 'aa00bb11cc22dd33' }
    t.same(openMqtt(c, key, status, StatusSchema, sealMqtt(c, key, status, StatusSchema, will)), will)
    t.equal(
      code(() => openMqtt(c, key, status, StatusSchema, Uint8Array.of(0))),
      'bad_version',
      'the bare 0x00 will is not a status',
    )
    t.equal(
      code(() =>
        openMqtt(c, c.randomBytes(16), status, StatusSchema, sealMqtt(c, key, status, StatusSchema, will)),
      ),
      'bad_tag',
      'a will sealed by another key does not open',
    )
    t.equal(
      code(() => sealMqtt(c, key, status, StatusSchema, { v: 1, online: false } as never)),
      'bad_field',
      'an offline status without its session is not sealed',
    )
  })
}
