/** The assembled merchant box: identity check, real wiring, hardware, control socket. */
export {
  assertNotRunning,
  CONTROL_SOCKET,
  ControlError,
  type ControlErrorCode,
  type ControlHandler,
  type ControlRequest,
  ControlServer,
  type ControlServerOptions,
  controlRequest,
  controlSocketPath,
} from './control.js'
export { createHardware, type Hardware } from './hardware.js'
export { checkIdentity, issuerKeyring, type NodeIdentity } from './identity.js'
export { acquireLock, type DataDirLock, LOCK_ID_FILE } from './lock.js'
export { type OpenedNode, type OpenNodeOptions, openNode } from './open-node.js'
export {
  type Logger,
  type NodeClock,
  type NodeReport,
  type NodeStateDb,
  nodeControlHandler,
  OpgNode,
  type OpgNodeOptions,
} from './opg-node.js'
