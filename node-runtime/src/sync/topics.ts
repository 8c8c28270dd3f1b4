/** The node's four MQTT topics, from the protocol's topic builder. */
import { topic } from '@opg/protocol'

export interface NodeTopics {
  tx: string
  status: string
  ack: string
  cmd: string
}

/** Topic names for one device; throws ProtocolError('bad_field') for malformed ids. */
export function nodeTopics(tenantId: string, deviceId: string): NodeTopics {
  return {
    tx: topic(tenantId, deviceId, 'up/tx'),
    status: topic(tenantId, deviceId, 'up/status'),
    ack: topic(tenantId, deviceId, 'down/ack'),
    cmd: topic(tenantId, deviceId, 'down/cmd'),
  }
}
