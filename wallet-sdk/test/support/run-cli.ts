/** Runs the real `opg-wallet` launcher as a child process and collects its output. */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/opg-wallet.js', import.meta.url))

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

export function runWalletCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** The same command in this process (runCli with captured I/O): the CLI code path without the tsx start-up. */
export async function runWalletCliInProcess(args: string[], env: Record<string, string>): Promise<CliRun> {
  const { runCli } = await import('../../src/cli/main.js')
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, {
    stdout: (s) => {
      stdout += s
    },
    stderr: (s) => {
      stderr += s
    },
    env,
    cwd: process.cwd(),
  })
  return { code, stdout, stderr }
}
