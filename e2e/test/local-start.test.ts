// `npm start` as the user runs it: the launcher as a child process on a fresh data folder prints where
// everything runs, the API and OpenAPI answer, the provisioned box is online (asked through `opg-node status`
// on its control socket), Ctrl-C stops everything with exit code 0, and a second start reuses the data.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { waitUntil } from '../src/wait.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

interface Running {
  child: ChildProcess
  out: () => string
  exited: Promise<number | null>
}

function start(dataDir: string): Running {
  const child = spawn(process.execPath, [join(ROOT, 'e2e/bin/opg-local.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OPG_LOCAL_DIR: dataDir,
      OPG_HTTP_PORT: '0',
      OPG_MQTT_EMBEDDED_PORT: '0',
      OPG_VERIFY_WORKERS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let text = ''
  child.stdout!.on('data', (d) => {
    text += d
  })
  child.stderr!.on('data', (d) => {
    text += d
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  return { child, out: () => text, exited }
}

function field(text: string, label: string): string {
  const m = new RegExp(`${label}\\s+(\\S+)`).exec(text)
  if (!m) throw new Error(`no "${label}" in output:\n${text}`)
  return m[1]!
}

function run(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--conditions=@opg/source', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    p.stdout.on('data', (d) => {
      stdout += d
    })
    p.once('exit', (code) => resolve({ code, stdout }))
  })
}

t.test('npm start: runs everything, stops on Ctrl-C, reuses its data', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'opg-local-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  const first = start(dataDir)
  t.teardown(() => first.child.kill('SIGKILL'))
  await waitUntil('the first start to be ready', () => first.out().includes('Ctrl-C stops everything'), {
    timeoutMs: 40_000,
  })
  const text = first.out()
  t.match(text, /first start/, 'first start creates tenant, issuer key and box')
  const api = field(text, 'Bridge API')
  const key = field(text, 'Operator key')
  const config = field(text, 'config')
  const deviceId = field(text, 'device')
  t.match(field(text, 'sticker'), /^OPGM:/, 'the sticker text is printed')
  t.equal((await fetch(`${api}/health`)).status, 200, 'the API answers')
  const doc = (await (await fetch(`${api}/openapi.json`)).json()) as { openapi: string }
  t.match(doc.openapi, /^3\./, 'the OpenAPI document is served')
  const dev = (await (
    await fetch(`${api}/v1/devices/${deviceId}`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as { certified: boolean }
  t.equal(dev.certified, true, 'the box is registered and certified')
  const status = await waitUntil(
    'the box to report online through its control socket',
    async () => {
      const r = await run([
        join(ROOT, 'node-runtime/bin/opg-node.js'),
        'status',
        '--json',
        '--config',
        config,
      ])
      const s = r.code === 0 ? (JSON.parse(r.stdout) as { online: boolean; running: boolean }) : undefined
      return s?.online ? s : undefined
    },
    { timeoutMs: 20_000, intervalMs: 500 },
  )
  t.match(status, { running: true, online: true, deviceId }, 'opg-node status: the box runs and is online')

  first.child.kill('SIGINT')
  t.equal(await first.exited, 0, 'Ctrl-C: exit code 0')
  t.match(first.out(), /stopped\./, 'it says it stopped')

  const second = start(dataDir)
  t.teardown(() => second.child.kill('SIGKILL'))
  await waitUntil('the second start to be ready', () => second.out().includes('Ctrl-C stops everything'), {
    timeoutMs: 40_000,
  })
  t.match(second.out(), /data reused/, 'the second start reuses the data')
  t.equal(field(second.out(), 'Operator key'), key, 'same tenant and operator key')
  t.equal(field(second.out(), 'device'), deviceId, 'same box')
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0, 'SIGTERM: exit code 0')
})
