// The control socket against clients that misbehave: a request that never ends its line, one that trickles
// bytes, and an honest slow `sync` that must not be cut by the request deadline.
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ControlServer, controlRequest } from '../../src/node/control.js'

async function serve(t: Test, handle: () => Promise<unknown>, requestTimeoutMs = 200) {
  const dir = await mkdtemp(join(tmpdir(), 'opg-control-'))
  const server = new ControlServer(join(dir, 'opg-node.sock'), { handle }, { requestTimeoutMs })
  await server.start()
  t.teardown(async () => {
    await server.stop()
    await rm(dir, { recursive: true, force: true })
  })
  return server
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path)
    s.once('connect', () => resolve(s))
    s.once('error', reject)
  })
}

/** Resolves with the ms from now until the server closes `s`. */
function closedAfter(s: Socket): Promise<number> {
  const started = Date.now()
  return new Promise((resolve) => s.once('close', () => resolve(Date.now() - started)))
}

t.test('a request without a newline is dropped after the request deadline', async (t) => {
  const server = await serve(t, async () => 'unused')
  const s = await open(server.path)
  s.on('error', () => {})
  s.write('{"cmd":"status"')
  const ms = await closedAfter(s)
  t.ok(ms >= 150, `held until the deadline (${ms} ms)`)
  t.ok(ms < 5000, 'then closed by the server')
  t.equal(await controlRequest(server.path, { cmd: 'status' }), 'unused', 'the server still answers others')
})

t.test('a client trickling bytes does not reset the deadline', async (t) => {
  const server = await serve(t, async () => 'unused')
  const s = await open(server.path)
  s.on('error', () => {})
  const closed = closedAfter(s)
  const drip = setInterval(() => s.writable && s.write(' '), 50)
  t.teardown(() => clearInterval(drip))
  const ms = await closed
  t.ok(ms < 1000, `closed despite steady bytes (${ms} ms)`)
})

t.test('a slow answer to a complete request is not cut by the request deadline', async (t) => {
  const server = await serve(t, () => new Promise((r) => setTimeout(() => r('slow but fine'), 600)))
  t.equal(await controlRequest(server.path, { cmd: 'sync' }), 'slow but fine')
})
