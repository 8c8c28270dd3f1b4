/**
 * NobleGattClient with the real noble against the box's real bleno binding, each in its own process on the
 * virtual radio. This file is also the "wallet" peer: run with OPG_PEER_ROLE=wallet it serves exchanges over
 * a NobleGattClient. The "box" peer lives in node-runtime/test/bindings/ble-bleno.test.ts.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type PeerProcess, peerConfig, spawnPeer, VirtualRadio } from '@opg/testkit/virtual-hci/index.js'
import type { Test } from 'tap'

const WALLET_FILE = fileURLToPath(import.meta.url)
const BOX_FILE = resolve(dirname(WALLET_FILE), '../../node-runtime/test/bindings/ble-bleno.test.ts')

interface ExchangeArgs {
  tag: string
  /** Whole messages to send, each followed by receiving one reply. */
  messages?: Uint8Array[]
  /** Raw chunks to write instead (no framing), then one receive. */
  chunks?: Uint8Array[]
  timeoutMs?: number
  receiveTimeoutMs?: number
  /** Use the BleMessageChannel adapter (open/send/receive/close) instead of the session directly. */
  viaChannel?: boolean
}

const peer = peerConfig()
if (peer?.role === 'wallet') {
  await runWallet(peer)
} else if (!peer) {
  await runTests()
}

/** The wallet peer: one NobleGattClient; each 'exchange' connects, talks, closes, and reports errors as data. */
async function runWallet(config: NonNullable<ReturnType<typeof peerConfig>>): Promise<void> {
  const { installVirtualHci, servePeer } = await import('@opg/testkit/virtual-hci/index.js')
  const { NobleGattClient, NobleGattSession, gattChannel } = await import('../src/node/ble/index.js')
  const vhci = installVirtualHci({ radioPath: config.radioPath, address: config.address, name: config.name })
  const client = new NobleGattClient()
  await client.start()
  servePeer(
    {
      exchange: async (args: ExchangeArgs) => {
        const replies: Uint8Array[] = []
        const out: {
          mtu?: number
          ident?: Uint8Array
          replies: Uint8Array[]
          error?: { name: string; code?: string }
        } = {
          replies,
        }
        const receiveTimeoutMs = args.receiveTimeoutMs ?? 10_000
        try {
          if (args.viaChannel) {
            const channel = gattChannel(client, args.tag, { timeoutMs: args.timeoutMs, receiveTimeoutMs })
            try {
              await channel.open()
              for (const m of args.messages ?? []) {
                await channel.send(m)
                replies.push(await channel.receive())
              }
            } finally {
              await channel.close()
            }
            return out
          }
          const session = await client.connect(args.tag, { timeoutMs: args.timeoutMs ?? 10_000 })
          out.mtu = session.mtu
          out.ident = session.ident
          try {
            for (const m of args.messages ?? []) {
              await session.send(m)
              replies.push(await session.receive(receiveTimeoutMs))
            }
            if (args.chunks && session instanceof NobleGattSession) {
              for (const c of args.chunks) await session.writeChunk(c)
              replies.push(await session.receive(receiveTimeoutMs))
            }
          } finally {
            await session.close()
          }
        } catch (err) {
          const e = err as { name: string; code?: string }
          out.error = { name: e.name, code: e.code }
        }
        return out
      },
    },
    async () => {
      await client.stop()
      vhci.close()
    },
  )
}

async function runTests(): Promise<void> {
  const { default: t } = await import('tap')
  type Result = { mtu?: number; replies: Uint8Array[]; error?: { name: string; code?: string } }

  async function setup(t: Test, boxes: Record<string, string>) {
    const radio = new VirtualRadio()
    await radio.start()
    const peers: PeerProcess[] = []
    t.teardown(async () => {
      await Promise.all(peers.map((p) => p.stop()))
      await radio.stop()
    })
    const box: Record<string, PeerProcess> = {}
    for (const [tag, address] of Object.entries(boxes)) {
      box[tag] = spawnPeer({ file: BOX_FILE, role: 'box', radioPath: radio.path, address })
      peers.push(box[tag])
    }
    const wallet = spawnPeer({ file: WALLET_FILE, role: 'wallet', radioPath: radio.path })
    peers.push(wallet)
    await Promise.all(Object.entries(box).map(([tag, p]) => p.call('start', { tag })))
    await radio.waitFor((cs) =>
      Object.keys(boxes).every((tag) => cs.some((c) => c.advertising && c.localName === `OPG ${tag}`)),
    )
    return { radio, box, wallet }
  }

  t.test('NOT_FOUND when no box advertises the tag', async (t) => {
    const { radio, wallet } = await setup(t, { W1: 'b0:0c:00:00:01:01' })
    const r = await wallet.call<Result>('exchange', { tag: 'NOPE', messages: [], timeoutMs: 1500 })
    t.equal(r.error?.code, 'NOT_FOUND')
    t.equal(radio.links().length, 0, 'the other box was not connected to')
  })

  t.test(
    'through the BleMessageChannel adapter; close() ends the session at the box (State 0x02)',
    async (t) => {
      const { box, wallet } = await setup(t, { W2: 'b0:0c:00:00:01:02' })
      const request = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)
      const r = await wallet.call<Result>('exchange', { tag: 'W2', messages: [request], viaChannel: true })
      t.notOk(r.error)
      t.same(r.replies, [request.map((b) => b ^ 0xff)])
      const end = (await box.W2!.waitForEvent((e) => e.event === 'end')).data as { reason: string }
      t.equal(end.reason, 'ended_by_peer')
    },
  )

  t.test(
    'the first message rides the State start write when it fits one ATT value, else follows it in chunks',
    async (t) => {
      const { radio, wallet } = await setup(t, { W4: 'b0:0c:00:00:01:04' })
      for (const size of [20, 300]) {
        const request = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 0xff)
        const r = await wallet.call<Result>('exchange', { tag: 'W4', messages: [request], viaChannel: true })
        t.notOk(r.error, `${size} bytes: no error`)
        t.same(r.replies, [request.map((b) => b ^ 0xff)], `${size} bytes: answered whole`)
      }
      const [small, large] = radio.links()
      t.ok(small && large, 'two sessions')
      t.equal(
        small?.up.attOps.write_cmd ?? 0,
        0,
        'a 20-byte message: no Client2Server chunk, it came in the start',
      )
      t.ok((large?.up.attOps.write_cmd ?? 0) >= 2, 'a 300-byte message: a bare start, then its chunks')
    },
  )

  t.test('a box that dies mid-session is reported as DISCONNECTED, not a hang', async (t) => {
    const { radio, box, wallet } = await setup(t, { W3: 'b0:0c:00:00:01:03' })
    // Half a message: the box waits for the rest, the wallet waits for a reply.
    const pending = wallet.call<Result>('exchange', {
      tag: 'W3',
      chunks: [Uint8Array.of(0x01, 1, 2, 3)],
      receiveTimeoutMs: 8000,
    })
    await radio.waitFor(() => radio.links().some((l) => (l.up.attOps.write_cmd ?? 0) >= 1))
    await box.W3!.kill()
    const r = await pending
    t.equal(r.error?.code, 'DISCONNECTED')
  })
}
