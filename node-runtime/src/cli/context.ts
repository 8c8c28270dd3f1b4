/**
 * What the `opg-node` subcommands share: the I/O, loading config and secrets, and reaching the box — over
 * the running node's control socket when there is one, else by opening its vault here. The CLI never creates
 * a vault the config did not name: a data directory that came from the default and holds no vault means the
 * command is looking at the wrong box, and it refuses (code `no_vault`) instead of taking payments into a
 * fresh, empty vault nobody will sync.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CliOutput } from '@opg/protocol/cli'
import { applyEnv, loadConfigFile } from '../config/load.js'
import type { NodeConfig } from '../config/schema.js'
import { loadSecrets } from '../config/secrets.js'
import { ControlError, controlSocketPath } from '../node/control.js'
import { type OpenedNode, openNode } from '../node/open-node.js'

export interface CliIo {
  stdout: (line: string) => void
  stderr: (line: string) => void
  env: NodeJS.ProcessEnv
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); `start` waits on it. */
  stopSignal?: Promise<void>
  /** Decode a QR code from an image file (the camera binding's decoder). */
  decodeImageFile?: (path: string) => Promise<string | undefined>
  /** A terminal for progress bars (the launcher passes process.stderr when it is a TTY). */
  progressStream?: NodeJS.WriteStream
}

/** A refusal of the command line itself, with a stable code (mapped to an exit code in main.ts). */
export class NodeCliError extends Error {
  override readonly name = 'NodeCliError'
  constructor(
    readonly code: 'no_vault' | 'not_an_image' | 'no_file' | 'no_qr' | 'no_decoder',
    message: string,
    readonly exit = 1,
  ) {
    super(message)
  }
}

export const DEFAULT_CONFIG = '/etc/opg/opg-node.json'

export class NodeCli {
  readonly output: CliOutput
  constructor(readonly io: CliIo) {
    this.output = { out: io.stdout, err: io.stderr, progressStream: io.progressStream }
  }

  configPath(flags: { config?: string }): string {
    return flags.config ?? this.io.env.OPG_CONFIG ?? DEFAULT_CONFIG
  }

  async load(configPath: string, sim = false) {
    const { config, migrations } = await loadConfigFile(configPath, this.io.env)
    if (sim) config.hardware.mode = 'sim'
    const secrets = await loadSecrets(config)
    return { config, secrets, migrations }
  }

  /**
   * Ask the running node; when none runs, open the vault here. A node that is still starting holds the data
   * directory's lock before its socket answers: wait for it rather than fail.
   */
  async viaNodeOr<T>(
    configPath: string,
    config: NodeConfig,
    secrets: Awaited<ReturnType<typeof loadSecrets>>,
    remote: (socketPath: string) => Promise<T>,
    local: (opened: OpenedNode) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + 15_000
    for (;;) {
      try {
        return await remote(controlSocketPath(config.dataDir))
      } catch (err) {
        if (!(err instanceof ControlError) || err.code !== 'not_running') throw err
      }
      await this.refuseNewVault(configPath, config)
      let opened: OpenedNode
      try {
        opened = await openNode(config, secrets)
      } catch (err) {
        if (err instanceof ControlError && err.code === 'already_running' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200))
          continue
        }
        throw err
      }
      try {
        return await local(opened)
      } finally {
        await opened.close()
      }
    }
  }

  /** No vault, and the data directory is only the default: this is not the box's data, refuse. */
  async refuseNewVault(configPath: string, config: NodeConfig): Promise<void> {
    if (existsSync(join(config.dataDir, 'vault'))) return
    const raw = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>
    if (applyEnv({ ...raw }, this.io.env).dataDir !== undefined) return
    throw new NodeCliError(
      'no_vault',
      `no vault in ${config.dataDir} and ${configPath} names no dataDir: this would start a new, empty vault beside the box's own. Set dataDir in the config to the box's data directory (opg-provision writes it)`,
      78,
    )
  }
}
