/**
 * The outside services a bridge talks to, chosen by its Config: the card provider (the sandbox in test mode,
 * or a real provider's adapter, checked before it can move money) and the SMS provider (Twilio or the
 * sandbox that keeps messages in the database), and the MQTT link that tells an online box its invoice is paid.
 */
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import { type Config, ConfigError } from '../config.js'
import type { Db } from '../db/types.js'
import { SandboxSmsProvider, type SmsProvider, TwilioSmsProvider } from '../sms/index.js'
import type { BoxLink } from './notices.js'
import type { PaymentProvider } from './provider.js'
import { SandboxProvider } from './sandbox-provider.js'

/**
 * A real provider's adapter, checked before it can move money: its mode matches the bridge's, it comes with
 * its webhook secret, and a live bridge's database holds no test money (a test database never goes live).
 */
export async function checkedAdapter(
  cfg: Config,
  provider: PaymentProvider | undefined,
  db: Db,
): Promise<PaymentProvider> {
  const issues: string[] = []
  if (!provider)
    issues.push(
      `payments.provider: mode ${cfg.mode} needs a real card provider adapter passed to new Bridge({ paymentProvider }); the sandbox runs only with mode: test (OPG_MODE=test)`,
    )
  if (!cfg.payments.webhookSecretFile)
    issues.push('payments.webhookSecretFile: a real provider signs its webhooks with a secret you set there')
  if (provider && provider.testMode !== (cfg.mode === 'test')) {
    const its = provider.testMode ? 'test' : 'live'
    issues.push(`payments.provider: the ${provider.name} adapter is in ${its} mode but mode is ${cfg.mode}`)
  }
  if (cfg.mode === 'live') {
    const test = await db.query('SELECT 1 FROM online_payments WHERE test_mode LIMIT 1')
    if (test.rowCount > 0)
      issues.push(
        'mode: this database holds test-mode payments; run live on a database that never ran in test mode',
      )
  }
  if (issues.length > 0 || !provider) throw new ConfigError(issues)
  return provider
}

/**
 * The sandbox provider: test tokens, test money. It confirms a charge by a signed webhook sent to the API's own
 * webhook route in process (`app` is called at delivery time: the API is built after the provider).
 */
export function sandboxProvider(
  cfg: Config,
  o: {
    webhookSecret: string
    clock: () => number
    app: () => { request(path: string, init: RequestInit): Response | Promise<Response> }
    log: Logger
  },
): SandboxProvider {
  // The config schema refuses the sandbox outside test mode; this keeps it true for configs built by hand.
  if (cfg.mode !== 'test') throw new ConfigError(['payments.provider: the sandbox runs only with mode: test'])
  return new SandboxProvider({
    webhookSecret: o.webhookSecret,
    confirmDelayMs: cfg.payments.sandboxConfirmDelayMs,
    now: o.clock,
    deliver: async (body, signature) => {
      const res = await o.app().request('/webhooks/provider', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'opg-signature': signature },
      })
      if (!res.ok) throw new Error(`webhook refused: ${res.status}`)
    },
    onError: (err) => o.log.warn({ err }, 'payment webhook not taken'),
  })
}

/** The SMS provider of config `sms`: Twilio, or the sandbox (messages kept in the database). */
export function smsProvider(cfg: Config, db: Db): SmsProvider {
  const s = cfg.sms
  if (s.provider === 'twilio') {
    return new TwilioSmsProvider({
      accountSid: s.twilioAccountSid!,
      authToken: readFileSync(s.twilioAuthTokenFile!, 'utf8').trim(),
      from: s.from,
      ...(s.twilioBaseUrl ? { baseUrl: s.twilioBaseUrl } : {}),
    })
  }
  return new SandboxSmsProvider({ db, from: s.from })
}

/**
 * How online payments reach a box: publish on `cmd`, an MQTT client of their own (a slow publish never holds
 * up ingest); a box counts as online when the devices table says so and that client is connected.
 */
export function mqttBoxLink(cmd: {
  connected: boolean
  publishAsync(topic: string, payload: Buffer, opts: { qos: 1 }): Promise<unknown>
}): BoxLink {
  return {
    isOnline: async (tx, tenantId, deviceId) => {
      const r = await tx.query<{ online: boolean }>(
        'SELECT online FROM devices WHERE tenant_id = $1 AND id = $2',
        [tenantId, deviceId],
      )
      return r.rows[0]?.online === true && cmd.connected
    },
    publish: async (topicName, payload) => {
      await cmd.publishAsync(topicName, Buffer.from(payload), { qos: 1 })
    },
  }
}
