/**
 * Who may do what on the broker, as pure rules shared by the embedded broker (aedes hooks) and the Mosquitto
 * config generator (ACL file): a box publishes only its own `up/tx` and `up/status` and subscribes only its own
 * `down/…`; the bridge subscribes to every box's `up/…` and publishes `down/…`. Nobody else is anybody.
 */
import { bridgeSubscription, parseTopic, TOPIC_ROOT } from '@opg/protocol'

/** An authenticated broker client. */
export type BrokerIdentity = { kind: 'bridge' } | { kind: 'device'; tenantId: string; deviceId: string }

/** The topic kinds each side may publish, and subscribe to. */
const DEVICE_PUBLISH = ['up/tx', 'up/status'] as const
const DEVICE_SUBSCRIBE = ['down/ack', 'down/cmd', 'down/#'] as const
const BRIDGE_PUBLISH = ['down/ack', 'down/cmd'] as const

/** May this identity publish on this (concrete) topic? */
export function mayPublish(id: BrokerIdentity, topicName: string): boolean {
  let t: ReturnType<typeof parseTopic>
  try {
    t = parseTopic(topicName)
  } catch {
    return false
  }
  if (id.kind === 'bridge') return (BRIDGE_PUBLISH as readonly string[]).includes(t.kind)
  return (
    t.tenantId === id.tenantId &&
    t.deviceId === id.deviceId &&
    (DEVICE_PUBLISH as readonly string[]).includes(t.kind)
  )
}

/**
 * May this identity subscribe to this filter? Exact filters only: a box may name its own down topics (or
 * `down/#` under its own prefix); the bridge its `up/#` subscription, plain or shared under any group.
 */
export function maySubscribe(id: BrokerIdentity, filter: string): boolean {
  if (id.kind === 'bridge') {
    const plain = bridgeSubscription(false)
    return filter === plain || /^\$share\/[^/+#]+\/(.*)$/.exec(filter)?.[1] === plain
  }
  const prefix = `${TOPIC_ROOT}/${id.tenantId}/${id.deviceId}/`
  return (
    filter.startsWith(prefix) && (DEVICE_SUBSCRIBE as readonly string[]).includes(filter.slice(prefix.length))
  )
}

/**
 * The client id an identity may use, so that nobody can take over another's session: a box's is its
 * device id; the bridge's start with its configured client id (consumer, publisher, command client).
 */
export function clientIdAllowed(id: BrokerIdentity, clientId: string, bridgeClientId: string): boolean {
  if (id.kind === 'device') return clientId === id.deviceId
  return clientId === bridgeClientId || clientId.startsWith(`${bridgeClientId}-`)
}

/** Mosquitto ACL lines for a box (after its `user` line). */
export function deviceAclLines(tenantId: string, deviceId: string): string[] {
  const base = `${TOPIC_ROOT}/${tenantId}/${deviceId}`
  return [...DEVICE_PUBLISH.map((k) => `topic write ${base}/${k}`), `topic read ${base}/down/#`]
}

/** Mosquitto ACL lines for the bridge (after its `user` line). */
export function bridgeAclLines(): string[] {
  return [`topic read ${bridgeSubscription(false)}`, `topic write ${TOPIC_ROOT}/+/+/down/#`]
}
