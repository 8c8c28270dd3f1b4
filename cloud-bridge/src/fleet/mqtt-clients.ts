/**
 * How the bridge's own MQTT clients behave, whoever opens them (the ingest consumer, the command publishers):
 * they come back after any loss, refusals included, and report their link for /metrics.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Logger } from '../reconcile/reconciler.js'

/**
 * A new attempt each second, including after the broker refused one (a password rotated on the broker first, an
 * auth backend down, a cluster node draining). mqtt.js otherwise stops for good at the first refused CONNACK,
 * and the bridge would be off the broker until restarted.
 */
export const MQTT_RECONNECT = { reconnectPeriod: 1000, reconnectOnConnackError: true } as const

/** Told when one of the bridge's MQTT clients (by client id) connects to the broker or loses it. */
export type LinkObserver = (clientId: string, connected: boolean) => void

/** Tell `onLink` whether `client` is connected now, and each time that changes. */
export function watchLink(client: MqttClient, clientId: string, onLink: LinkObserver | undefined): void {
  if (!onLink) return
  onLink(clientId, client.connected)
  client.on('connect', () => onLink(clientId, true))
  client.on('close', () => onLink(clientId, false))
}

/**
 * Connect a client that only publishes. What the broker refuses on a reconnect is logged and retried: mqtt.js
 * reports it as an 'error' event, which with no listener would end the process.
 */
export async function openPublisher(
  url: string,
  options: IClientOptions & { clientId: string },
  log: Logger,
  onLink?: LinkObserver,
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { ...MQTT_RECONNECT, ...options })
  client.on('error', (err) => log.warn({ err, clientId: options.clientId }, 'mqtt publisher error'))
  watchLink(client, options.clientId, onLink)
  return client
}
