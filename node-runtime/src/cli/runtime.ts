/** Process-level pieces of the command: the pino logger and the simulated merchant signal. */
import { formatMoney } from '@opg/protocol'
import pino from 'pino'
import type { SignalPort } from '../accept/ports.js'
import type { NodeConfig } from '../config/schema.js'
import type { Logger } from '../node/opg-node.js'
import type { CliIo } from './main.js'

/** JSON logs to stdout (journald keeps them); key material never reaches a log (see config/secrets.ts). */
export function createLogger(config: NodeConfig, io: CliIo): Logger {
  const logger = pino(
    {
      level: config.log.level,
      base: { device: config.deviceId },
      redact: { paths: ['*.password', '*.key', '*.secret', 'config.mqtt.url'], censor: '[redacted]' },
    },
    { write: (line: string) => io.stdout(line.trimEnd()) },
  )
  return logger
}

/** In simulation the LED and buzzer are log lines. */
export function simSignal(log: Logger): SignalPort {
  return {
    accepted: ({ txId, amount, currency }) =>
      log.info(
        { txId, amount, currency, led: 'green', buzzer: 'short' },
        `PAID ${formatMoney(amount, currency)}`,
      ),
    rejected: ({ code }) => log.info({ code, led: 'red', buzzer: 'long' }, 'REFUSED'),
  }
}
