/**
 * The SMS port (provider interface, sandbox and Twilio-compatible providers) and the outbox that delivers
 * with retries. See README.md §SMS.
 */

export {
  enqueueSms,
  listOutbox,
  type OutboxItem,
  type OutboxOptions,
  type RoundResult,
  SmsOutbox,
} from './outbox.js'
export {
  checkMessage,
  isSmsError,
  SmsError,
  type SmsErrorCode,
  type SmsMessage,
  type SmsProvider,
  type SmsReceipt,
} from './provider.js'
export { type SandboxSms, SandboxSmsProvider } from './sandbox.js'
export { type TwilioOptions, TwilioSmsProvider } from './twilio.js'
