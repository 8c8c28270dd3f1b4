/** MQTT sync of accepted payments to the bridge. */
export { type AckInfo, type NodeCommand, type NodeStatus, protocolCodec, type SyncCodec } from './codec.js'
export {
  SyncEngine,
  type SyncEvents,
  type SyncOptions,
  type SyncProgress,
} from './sync-engine.js'
export { SyncError, type SyncErrorCode } from './sync-error.js'
export { type NodeTopics, nodeTopics } from './topics.js'
