/**
 * Throwaway PKI and a real Mosquitto process, for tests of the production broker setup: CAs, a server
 * certificate for 127.0.0.1 and client certificates made with the openssl command (valid from now, two days,
 * so they follow the clock the tests run under), and `mosquitto -c FILE` started on free ports and stopped.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** PEM files of one certificate. */
export interface CertFiles {
  cert: string
  key: string
}

/** Certificates in one folder, made with openssl (EC P-256). */
export class Pki {
  constructor(readonly dir: string) {}

  #openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' })
  }

  #newKey(name: string, cn: string, extra: string[]): void {
    this.#openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-subj',
      `/CN=${cn}`,
      ...extra,
    ])
  }

  /** A certificate authority. */
  ca(name: string): CertFiles {
    this.#newKey(name, name, ['-x509', '-days', '2', '-out', `${name}.pem`])
    return this.files(name)
  }

  /** A self-signed end certificate (nobody vouches for it). */
  selfSigned(name: string, cn: string): CertFiles {
    this.#newKey(name, cn, ['-x509', '-days', '2', '-out', `${name}.pem`])
    return this.files(name)
  }

  /** A certificate with common name `cn` signed by `ca`: a server for 127.0.0.1, or a client. */
  issue(name: string, cn: string, ca: string, kind: 'server' | 'client'): CertFiles {
    this.#newKey(name, cn, ['-out', `${name}.csr`])
    const ext = join(this.dir, `${name}.ext`)
    writeFileSync(
      ext,
      kind === 'server'
        ? 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n'
        : 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n',
    )
    this.#openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      `${name}.pem`,
    ])
    return this.files(name)
  }

  files(name: string): CertFiles {
    return { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`) }
  }
}

/** A free TCP port on 127.0.0.1 (closed again; the caller binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

/** `mosquitto -c conf` as a child process. */
export class MosquittoProcess {
  #child: ChildProcess | undefined
  #log = ''

  constructor(readonly confPath: string) {}

  /** What Mosquitto printed (for failure messages). */
  get log(): string {
    return this.#log
  }

  /** Start it and wait until every port accepts connections. */
  async start(ports: number[], timeoutMs = 15_000): Promise<void> {
    const child = spawn('mosquitto', ['-c', this.confPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    child.stdout!.on('data', (d) => {
      this.#log += d
    })
    child.stderr!.on('data', (d) => {
      this.#log += d
    })
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited ${child.exitCode}:\n${this.#log}`)
      if ((await Promise.all(ports.map(accepting))).every(Boolean)) return
      if (Date.now() > deadline) throw new Error(`mosquitto did not listen in time:\n${this.#log}`)
      await sleep(100)
    }
  }

  /** Send SIGHUP: Mosquitto reloads its ACL file. */
  reload(): void {
    this.#child?.kill('SIGHUP')
  }

  async stop(): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (!child || child.exitCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGTERM')
    await exited
  }
}
