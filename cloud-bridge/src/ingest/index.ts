/** Ingest of offline payments from merchant boxes over MQTT. */
export { sqlDeviceDirectory, sqlKeyrings, type UnsealDeviceSecret } from './adapters.js'
export { type ConsumerOptions, IngestConsumer } from './consumer.js'
export { type FleetFigures, fleetFigures } from './fleet.js'
export type { DeviceDirectory, DeviceRecord, DeviceStatusUpdate, KeyringSource } from './ports.js'
export {
  BatchProcessor,
  type DropReason,
  type IngestStats,
  type ProcessorOptions,
  type ProcessResult,
} from './processor.js'
