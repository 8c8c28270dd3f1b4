/**
 * A box's `up/status` at ingest: only sealed statuses count (the legacy unsealed 0x00 will could come from anyone
 * able to publish), and a sealed offline will only for the session last seen online. Where the broker is the
 * bridge's own (embedded), its connect/disconnect events alone say online or offline, and a status only carries
 * the figures. Returns what became of it; the processor counts and logs a refusal.
 */
import {
  type CryptoBackend,
  isOfflineStatus,
  isProtocolError,
  type OnlineStatus,
  openMqtt,
  StatusSchema,
} from '@opg/protocol'
import type { Logger } from '../reconcile/reconciler.js'
import type { DeviceDirectory } from './ports.js'

/** What the status path needs from the processor's options. */
export interface StatusDeps {
  c: CryptoBackend
  devices: DeviceDirectory
  log: Logger
  /** 'status': sealed statuses and wills say online or offline; 'broker': the embedded broker's events do. */
  presence?: 'status' | 'broker' | undefined
  /** Called (not awaited) after an online status is recorded: the clock and revocation follow-ups. */
  onStatus?: StatusFollowUp | undefined
}

/** What the bridge does after a box's online status: send `time` / `revocations` (fleet/box-commands.ts). */
export type StatusFollowUp = (
  tenantId: string,
  deviceId: string,
  state: { clock?: 'trusted' | 'carried' | 'unsynced' | undefined; revocations?: number | undefined },
) => Promise<void>

/** Recorded, or refused with the reason the processor counts (and, for an unreadable one, the code). */
export type StatusOutcome =
  | { kind: 'status' }
  | { kind: 'refused'; reason: 'unsealed_status' | 'bad_payload' | 'stale_will'; code?: string }

/** Open the status with the box's MQTT key and record what it says. */
export async function recordBoxStatus(
  d: StatusDeps,
  box: { tenantId: string; deviceId: string; key: Uint8Array },
  topicName: string,
  payload: Uint8Array,
  receivedAt: Date,
): Promise<StatusOutcome> {
  const { tenantId, deviceId } = box
  if (isOfflineStatus(payload)) return { kind: 'refused', reason: 'unsealed_status' }
  let s: ReturnType<typeof StatusSchema.parse>
  try {
    s = openMqtt(d.c, box.key, topicName, StatusSchema, payload)
  } catch (err) {
    return { kind: 'refused', reason: 'bad_payload', code: isProtocolError(err) ? err.code : 'unknown' }
  }
  const byBroker = d.presence === 'broker'
  if (!s.online) {
    // The broker's own view already said so; otherwise only this run's will counts, not a replayed one.
    if (!byBroker && !(await d.devices.recordOffline(tenantId, deviceId, s.session, receivedAt)))
      return { kind: 'refused', reason: 'stale_will' }
    return { kind: 'status' }
  }
  await d.devices.recordStatus(tenantId, deviceId, {
    ...(byBroker ? {} : { online: true }),
    pendingCount: s.pending,
    receivedAt,
    detail: statusDetail(s),
  })
  // Not awaited: a slow or disconnected command link must never hold up ingest (the status is recorded).
  void d
    .onStatus?.(tenantId, deviceId, { clock: s.clock, revocations: s.revocations })
    .catch((err) => d.log.warn({ err, tenantId, deviceId }, 'status follow-up failed'))
  return { kind: 'status' }
}

/** What the fleet view keeps of an online status. */
function statusDetail(s: OnlineStatus): Record<string, unknown> {
  return {
    pendingAmount: s.pendingAmount,
    storageBytes: s.storageBytes,
    version: s.version,
    ...(s.signal !== undefined ? { signal: s.signal } : {}),
    ...(s.session !== undefined ? { session: s.session } : {}),
    deviceTime: s.at,
    ...(s.clock !== undefined ? { clock: s.clock } : {}),
    ...(s.revocations !== undefined ? { revocations: s.revocations } : {}),
    ...(s.storage !== undefined ? { storage: s.storage } : {}),
  }
}
