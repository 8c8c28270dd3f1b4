/** The bridge's logger: pino, with the redaction rules that keep secrets out of every log line. */
import { type Logger, pino } from 'pino'
import { type Config, LOG_REDACT_PATHS } from './config.js'

/** A pino logger with the bridge's redaction rules. */
export function createLogger(level: Config['log']['level'], destination?: pino.DestinationStream): Logger {
  const opts = { level, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }
  return destination ? pino(opts, destination) : pino(opts)
}
