/** The virtual BLE radio: a hub of virtual HCI controllers that the real bleno and noble run on. */
export { attOpName, type DirectionStats, type LinkStats, sumDirections } from './att-stats.js'
export {
  createVirtualHciSocketClass,
  type VirtualHciSocket,
  type VirtualHciSocketClass,
  type VirtualHciSocketConfig,
} from './hci-socket.js'
export {
  type InstallVirtualHciOptions,
  installVirtualHci,
  VirtualHciError,
  type VirtualHciInstallation,
} from './install.js'
export {
  PeerCallError,
  type PeerConfig,
  type PeerOp,
  PeerProcess,
  peerConfig,
  type SpawnPeerOptions,
  servePeer,
  spawnPeer,
} from './peer.js'
export {
  type ControllerInfo,
  localNameOf,
  type RadioViolations,
  VirtualRadio,
  type VirtualRadioOptions,
} from './radio.js'
