/**
 * @opg/provisioning — the field technician's tool: enrol a blank merchant box with the bridge and write its
 * SD-card bundle, print its merchant sticker, check it comes online, send the bundle over the serial console.
 */
export {
  pushOverBle,
  pushOverBleAdapter,
  SETUP_PROFILE,
  type SetupConnect,
  type SetupSession,
} from './ble-push.js'
export { BridgeClient, type Json } from './bridge-client.js'
export { BUNDLE_FILES, type BundleInfo, type Manifest, readBundle, writeBundle } from './bundle.js'
export { EXIT, type ProvisionIo, runProvisionCli, USAGE } from './cli.js'
export { type EnrolOptions, type EnrolResult, enrolBox, stickerName } from './enrol.js'
export { ProvisionError, type ProvisionErrorCode } from './errors.js'
export { bundleFrames, type PushOptions, pushBundle, pushOverSerial } from './serial-push.js'
export {
  type RenderOptions,
  renderStickerPng,
  renderStickerSvg,
  renderStickerTerminal,
  type StickerContent,
  stickerFromBundle,
} from './sticker.js'
export { type FleetDevice, formatDevice, type WaitOnlineOptions, waitOnline } from './verify.js'
