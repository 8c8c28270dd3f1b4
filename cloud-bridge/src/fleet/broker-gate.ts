/**
 * Broker authentication for the embedded broker. A box logs in as `{tenant}.{device}` with the password both
 * ends derive from its device secret (protocol `brokerPassword`): nothing beyond the sealed secret is stored, a
 * database copy without the master key yields no password, and enrolment issues it with the secret. The
 * bridge logs in with its own credential. A revoked box, or a box of a suspended tenant, is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { brokerPassword, type CryptoBackend, parseBrokerUsername } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import type { Queryable } from '../api/ports.js'
import { type BrokerIdentity, clientIdAllowed } from './broker-acl.js'

/** What the gate needs to know about a box. */
export interface BrokerDevice {
  /** The 16-byte device secret, unsealed. */
  secret: Uint8Array
  /** Not revoked, and its tenant not suspended. */
  active: boolean
}

/** Where the gate finds boxes. */
export interface BrokerDirectory {
  device(tenantId: string, deviceId: string): Promise<BrokerDevice | null>
}

/** MQTT 3.1.1 CONNACK codes the gate answers with. */
export const CONNACK = { identifierRejected: 2, badCredentials: 4, notAuthorized: 5 } as const

export type GateResult =
  | { ok: true; identity: BrokerIdentity }
  | { ok: false; returnCode: (typeof CONNACK)[keyof typeof CONNACK]; reason: string }

export interface BrokerGateOptions {
  directory: BrokerDirectory
  /** The bridge's own login on this broker. */
  bridge: { username: string; password: string }
  /** The bridge's client ids are this, or start with it and '-'. */
  bridgeClientId: string
  c?: CryptoBackend
}

/** Constant-time equality of two strings (through their SHA-256, so lengths leak nothing either). */
function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest()
  return timingSafeEqual(h(a), h(b))
}

/** Decides who a connecting client is, and whether a connected box may stay. */
export class BrokerGate {
  readonly #o: BrokerGateOptions
  readonly #c: CryptoBackend

  constructor(o: BrokerGateOptions) {
    this.#o = o
    this.#c = o.c ?? nodeBackend
  }

  /** Authenticate a CONNECT. Never throws for bad input; a directory failure is "server unavailable". */
  async authenticate(
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<GateResult> {
    const refuse = (returnCode: 2 | 4 | 5, reason: string): GateResult => ({ ok: false, returnCode, reason })
    if (username === undefined || password === undefined)
      return refuse(CONNACK.notAuthorized, 'no credentials')
    const given = password.toString('utf8')
    let identity: BrokerIdentity
    if (username === this.#o.bridge.username) {
      if (!sameSecret(given, this.#o.bridge.password))
        return refuse(CONNACK.badCredentials, 'bad bridge password')
      identity = { kind: 'bridge' }
    } else {
      const ids = parseBrokerUsername(username)
      if (!ids) return refuse(CONNACK.badCredentials, 'unknown user')
      const dev = await this.#o.directory.device(ids.tenantId, ids.deviceId)
      // Unknown box and wrong password answer alike: the broker does not confirm which boxes exist.
      if (!dev || !sameSecret(given, brokerPassword(this.#c, dev.secret, ids.deviceId)))
        return refuse(CONNACK.badCredentials, 'bad device credentials')
      if (!dev.active) return refuse(CONNACK.notAuthorized, 'device revoked or tenant suspended')
      identity = { kind: 'device', ...ids }
    }
    if (!clientIdAllowed(identity, clientId, this.#o.bridgeClientId))
      return refuse(CONNACK.identifierRejected, 'client id not bound to this identity')
    return { ok: true, identity }
  }

  /** Whether a connected box may stay connected (revoked since, or its tenant suspended → no). */
  async stillAllowed(identity: BrokerIdentity): Promise<boolean> {
    if (identity.kind === 'bridge') return true
    const dev = await this.#o.directory.device(identity.tenantId, identity.deviceId)
    return dev?.active === true
  }
}

/** Opens a sealed device secret of (tenant, device). */
export type Unseal = (sealed: Uint8Array, tenantId: string, deviceId: string) => Uint8Array

/** BrokerDirectory on the devices and tenants tables. */
export function sqlBrokerDirectory(db: Queryable, unseal: Unseal): BrokerDirectory {
  return {
    async device(tenantId, deviceId) {
      const { rows } = await db.query<{ sealed_secret: Uint8Array; active: boolean }>(
        `SELECT d.sealed_secret, (d.revoked_at IS NULL AND t.status = 'active') AS active
           FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.tenant_id = $1 AND d.id = $2`,
        [tenantId, deviceId],
      )
      const r = rows[0]
      if (!r) return null
      return { secret: unseal(new Uint8Array(r.sealed_secret), tenantId, deviceId), active: r.active }
    },
  }
}
