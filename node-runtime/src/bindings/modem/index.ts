/** The cellular modem binding: interface, real serial implementation, simulation and AT parsing helpers. */
export { AtChannel, type AtChannelEvents, type AtRequest, type SerialPortLike } from './at-channel.js'
export {
  type PduListing,
  parseCmgl,
  parseCmgr,
  parseCmgs,
  parseCmti,
  parseCreg,
  parseCsq,
} from './at-parse.js'
export {
  type Modem,
  ModemError,
  type ModemErrorCode,
  type ModemStatus,
  type RegistrationState,
  registrationFromStat,
  type SignalQuality,
  type SmsMessage,
  signalFromRssi,
  validateOutgoingSms,
} from './modem.js'
export { SerialModem, type SerialModemOptions } from './serial-modem.js'
export { SimModem, type SimSentSms } from './sim-modem.js'
export { type DiscardedSms, SmsInbox } from './sms-inbox.js'
export { type DeliverPdu, decodeDeliver, encodeSubmit, gsmSeptets, PduError } from './sms-pdu.js'
