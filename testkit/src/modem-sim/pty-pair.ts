/**
 * A linked pair of pseudo-terminals made by socat, so a program under test opens a real tty device (through the
 * real serialport native binding) while a simulator drives the other end.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Two tty paths joined back to back, and a way to tear them down. */
export interface PtyPair {
  /** The end the program under test opens. */
  devicePath: string
  /** The end the simulator opens. */
  simPath: string
  close(): Promise<void>
}

/** Error raised when socat cannot make the pair. */
export class PtyPairError extends Error {
  readonly code = 'PTY_PAIR_FAILED'
}

/** Starts `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B` and resolves once it moves data. */
export async function openPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'opg-pty-'))
  const devicePath = join(dir, 'modem')
  const simPath = join(dir, 'sim')
  const child: ChildProcess = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${simPath}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new PtyPairError(`socat not ready: ${stderr}`)), timeoutMs)
      const onData = (d: Buffer) => {
        stderr += d.toString()
        if (stderr.includes('starting data transfer loop')) done()
      }
      const onExit = (code: number | null) => done(new PtyPairError(`socat exited with ${code}: ${stderr}`))
      const onError = (err: Error) => done(new PtyPairError('socat failed to start', { cause: err }))
      function done(err?: Error) {
        clearTimeout(timer)
        child.stderr!.off('data', onData)
        child.off('exit', onExit)
        child.off('error', onError)
        if (err) reject(err)
        else resolve()
      }
      child.stderr!.on('data', onData)
      child.once('exit', onExit)
      child.once('error', onError)
    })
  } catch (err) {
    child.kill('SIGTERM')
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  // socat keeps logging at -d -d; drain it so the pipe never fills.
  child.stderr!.resume()
  return {
    devicePath,
    simPath,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        await exited
      }
      child.stderr!.destroy()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
