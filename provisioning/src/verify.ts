/**
 * Checking a box came online: poll the bridge's fleet view until the box's retained `up/status` has arrived
 * (the bridge marks it online), or give up after a timeout.
 */
import type { BridgeClient, Json } from './bridge-client.js'
import { ProvisionError } from './errors.js'

/** The fleet view's entry for one box (cloud-bridge's Device schema). */
export interface FleetDevice {
  id: string
  merchantId: string
  label: string
  certified: boolean
  certExpiresAt: string | null
  lastSeenAt: string | null
  online: boolean
  pendingCount: number
  revoked: boolean
}

/** Options of waitOnline. */
export interface WaitOnlineOptions {
  timeoutMs: number
  /** Between polls; default 1000. */
  intervalMs?: number
  /** Called with each answer (e.g. to print progress). */
  onPoll?: (device: FleetDevice | undefined) => void
}

/** Resolves with the box's fleet entry once it is online; throws 'not_online' at the timeout. */
export async function waitOnline(
  bridge: BridgeClient,
  deviceId: string,
  o: WaitOnlineOptions,
): Promise<FleetDevice> {
  const deadline = Date.now() + o.timeoutMs
  let last: FleetDevice | undefined
  for (;;) {
    const fleet: Json = await bridge.get('/v1/fleet')
    last = (fleet.devices as FleetDevice[]).find((d) => d.id === deviceId)
    o.onPoll?.(last)
    if (last?.online) return last
    const left = deadline - Date.now()
    if (left <= 0) break
    await new Promise((r) => setTimeout(r, Math.min(o.intervalMs ?? 1000, left)))
  }
  throw new ProvisionError(
    'not_online',
    last
      ? `box ${deviceId} is not online (last seen ${last.lastSeenAt ?? 'never'})`
      : `box ${deviceId} is not in the fleet view`,
  )
}

/** One line for a technician: what the bridge reports about the box. */
export function formatDevice(d: FleetDevice): string {
  return [
    `box ${d.id} (${d.label || 'no label'}) of merchant ${d.merchantId}`,
    `online ${d.online ? 'yes' : 'no'}, last seen ${d.lastSeenAt ?? 'never'}, pending ${d.pendingCount}`,
    `certified ${d.certified ? `until ${d.certExpiresAt}` : 'no'}${d.revoked ? ', REVOKED' : ''}`,
  ].join('; ')
}
