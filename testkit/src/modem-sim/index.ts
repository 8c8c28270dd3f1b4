/** Modem simulator: the AT responder, its socat pty transport and its mock-binding link. */
export {
  AtResponder,
  type AtResponderOptions,
  formatScts,
  type SentSms,
  type StoredSms,
} from './at-responder.js'
export { linkMockPort, type MockPortLike } from './mock-binding-link.js'
export {
  type DeliverOptions,
  type DeliverPart,
  decodeSubmit,
  encodeDeliver,
  encodeDeliverParts,
  type SmsEncoding,
  type SubmitPdu,
} from './pdu-codec.js'
export { type PtyModemSim, startPtyModemSim } from './pty-modem-sim.js'
export { openPtyPair, type PtyPair, PtyPairError } from './pty-pair.js'
export { SimStorage, type SmsStatus, STATUS_CODE } from './sim-storage.js'
