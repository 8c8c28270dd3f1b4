/**
 * The embedded broker as a bridge runs it (config mqtt.url unset): locked, so boxes log in with their derived
 * password and the bridge with a fresh random one; its session events are the boxes' online/offline signal,
 * applied to the devices table in order. Also the MQTT client options of the bridge's own clients, for the
 * embedded broker or an external one.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { CryptoBackend } from '@opg/protocol'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Db } from '../db/types.js'
import { BrokerGate, sqlBrokerDirectory } from './broker-gate.js'
import { EmbeddedBroker, type PresenceEvent } from './embedded-broker.js'

/** A started embedded broker, and how the bridge's own clients reach it. */
export interface BridgeBroker {
  broker: EmbeddedBroker
  /** Where boxes connect (the address it listens on). */
  url: string
  /** The bridge's own clients: over loopback, with the bridge's login (and TLS pinned to its CA). */
  self: { url: string; options: MqttLogin }
  /** Stop the broker and wait for the presence updates still queued. */
  stop(): Promise<void>
}

/** Login and TLS options for mqtt.js. */
export interface MqttLogin {
  username?: string
  password?: string
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  checkServerIdentity?: () => undefined
}

export interface BridgeBrokerOptions {
  config: Config
  db: Db
  c: CryptoBackend
  /** Opens a box's sealed device secret (the broker derives its password from it). */
  unseal: (sealed: Uint8Array, tenantId: string, deviceId: string) => Uint8Array
  clock: () => number
  log: Logger
}

/** Start the embedded broker; nobody is online until they connect to it. */
export async function startBridgeBroker(o: BridgeBrokerOptions): Promise<BridgeBroker> {
  const { config: cfg, db, log } = o
  const login = { username: 'opg-bridge', password: randomBytes(32).toString('base64url') }
  // Nobody is connected to a broker that is just starting, whatever an earlier run left in the table.
  await db.query('UPDATE devices SET online = false WHERE online')
  let presence: Promise<unknown> = Promise.resolve()
  const onPresence = (e: PresenceEvent) => {
    const at = new Date(o.clock())
    presence = presence
      .then(() =>
        db.query(
          `UPDATE devices SET online = $3,
             last_seen_at = CASE WHEN $3 THEN greatest(coalesce(last_seen_at, $4), $4) ELSE last_seen_at END
           WHERE tenant_id = $1 AND id = $2`,
          [e.tenantId, e.deviceId, e.online, at],
        ),
      )
      .catch((err) => log.warn({ err, ...e }, 'box presence not recorded'))
  }
  const tls =
    cfg.mqtt.embeddedTlsCertFile && cfg.mqtt.embeddedTlsKeyFile
      ? { cert: readFileSync(cfg.mqtt.embeddedTlsCertFile), key: readFileSync(cfg.mqtt.embeddedTlsKeyFile) }
      : null
  const broker = new EmbeddedBroker({
    host: cfg.mqtt.embeddedHost,
    port: cfg.mqtt.embeddedPort,
    tls,
    gate: new BrokerGate({
      directory: sqlBrokerDirectory(db, o.unseal),
      bridge: login,
      bridgeClientId: cfg.mqtt.clientId,
      c: o.c,
    }),
    onPresence,
    onWarning: (detail, message) => log.warn(detail, message),
  })
  const url = await broker.start()
  // The bridge's own clients go over loopback even when the broker listens on every address. Over TLS they
  // verify the chain (OPG_MQTT_CA_FILE, or the certificate itself when self-signed) but not the name: the
  // certificate names the public address, and this connection never leaves the machine.
  const port = new URL(url).port
  const wildcard = ['0.0.0.0', '::', '[::]'].includes(cfg.mqtt.embeddedHost)
  const host = wildcard ? '127.0.0.1' : new URL(url).hostname
  const pinned: MqttLogin = tls
    ? { ca: cfg.mqtt.caFile ? readFileSync(cfg.mqtt.caFile) : tls.cert, checkServerIdentity: () => undefined }
    : {}
  log.info({ url }, 'embedded MQTT broker listening')
  return {
    broker,
    url,
    self: { url: `${tls ? 'mqtts' : 'mqtt'}://${host}:${port}`, options: { ...login, ...pinned } },
    stop: async () => {
      await broker.stop()
      await presence
    },
  }
}

/** The login and TLS options of the bridge's clients of an external broker (config mqtt.*File). */
export function externalBrokerLogin(m: Config['mqtt']): MqttLogin {
  return {
    ...(m.username ? { username: m.username } : {}),
    ...(m.passwordFile ? { password: readFileSync(m.passwordFile, 'utf8').trim() } : {}),
    ...(m.caFile ? { ca: readFileSync(m.caFile) } : {}),
    ...(m.certFile ? { cert: readFileSync(m.certFile) } : {}),
    ...(m.keyFile ? { key: readFileSync(m.keyFile) } : {}),
  }
}
