/** Runs the real `opg-node` command (bin/opg-node.js) as a child process, for CLI and crash tests. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { controlRequest } from '../../src/node/control.js'

export const BIN = fileURLToPath(new URL('../../bin/opg-node.js', import.meta.url))

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Run a command to completion (bounded by `timeoutMs`). */
export async function runOpgNode(args: string[], timeoutMs = 60_000): Promise<RunResult> {
  const child = spawn(process.execPath, ['--conditions=@opg/source', BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code, stdout, stderr }
}

/** Start `opg-node start` in the background; resolves once its control socket answers. */
export async function startOpgNode(
  configPath: string,
  socketPath: string,
): Promise<ChildProcess & { out: () => string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@opg/source', BIN, 'start', '--config', configPath, '--sim'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  const end = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`opg-node exited early: ${out}`)
    try {
      // A socket file can be left over by a killed node: wait for an answer, not for the file.
      await controlRequest(socketPath, { cmd: 'status' })
      break
    } catch {
      if (Date.now() > end) throw new Error(`opg-node did not start: ${out}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return Object.assign(child, { out: () => out })
}

/** Stop a background node with `signal` and wait for it to exit. */
export async function stopOpgNode(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
  const exited = once(child, 'exit')
  child.kill(signal)
  const [code] = (await exited) as [number | null]
  return code
}
