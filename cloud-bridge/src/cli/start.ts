/** `opg-bridge start` and `migrate`: run the bridge until told to stop; bring the database schema up to date. */
import { action, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import { Bridge } from '../bridge.js'
import { migrate } from '../db/migrate.js'
import { createLogger } from '../logger.js'
import type { BridgeCli } from './context.js'

export function addStartCommands(program: Command, cli: BridgeCli): void {
  subcommand(
    program,
    'start',
    'run the bridge (HTTP API, MQTT ingest, reconciliation) until SIGINT/SIGTERM',
    ['DATABASE_URL=postgres://… OPG_MASTER_KEY_FILE=/etc/opg/master.key opg-bridge start'],
  ).action(
    action(async () => {
      const config = cli.config
      if (config.database.url === 'memory:') {
        cli.output.err(
          'warning: DATABASE_URL is memory: (an in-memory database) — everything is lost on exit',
        )
      }
      const bridge = new Bridge({ config, logger: createLogger(config.log.level, cli.io.stderr) })
      const { httpUrl, mqttUrl } = await bridge.start()
      cli.output.out(`opg bridge listening: api ${httpUrl}, mqtt ${mqttUrl}`)
      await stopped(cli.io.signal)
      await bridge.stop()
      return 0
    }),
  )

  subcommand(program, 'migrate', 'apply pending database migrations', ['opg-bridge migrate']).action(
    action(async () =>
      cli.withDb({ writes: true }, async (db) => {
        const r = await migrate(db)
        cli.output.out(r.applied.length ? `applied: ${r.applied.join(', ')}` : 'database is up to date')
        return 0
      }),
    ),
  )
}

/** Resolves on the abort signal, or else on SIGINT/SIGTERM. */
function stopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal) {
      if (signal.aborted) resolve()
      else signal.addEventListener('abort', () => resolve(), { once: true })
      return
    }
    const onSignal = () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}
