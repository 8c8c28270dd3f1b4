/**
 * BlenoBleBinding with the real bleno, talked to by the real noble (the wallet's NobleGattClient), each in
 * its own process on the virtual radio. This file is also the "box" peer: run with OPG_PEER_ROLE=box it serves
 * a BlenoBleBinding whose handler answers every message with its bytes inverted. The "wallet" peer lives in
 * wallet-sdk/test/ble-noble.test.ts, so each package drives its own side.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type LinkStats,
  type PeerProcess,
  peerConfig,
  spawnPeer,
  VirtualRadio,
} from '@opg/testkit/virtual-hci/index.js'
import type { Test } from 'tap'

const BOX_FILE = fileURLToPath(import.meta.url)
const WALLET_FILE = resolve(dirname(BOX_FILE), '../../../wallet-sdk/test/ble-noble.test.ts')

const peer = peerConfig()
if (peer?.role === 'box') {
  await runBox(peer)
} else if (!peer) {
  await runTests()
}

/** The box peer: a BlenoBleBinding on the virtual radio, reporting what its handler sees as IPC events. */
async function runBox(config: NonNullable<ReturnType<typeof peerConfig>>): Promise<void> {
  const { installVirtualHci, servePeer } = await import('@opg/testkit/virtual-hci/index.js')
  const { BlenoBleBinding } = await import('../../src/bindings/ble/index.js')
  const vhci = installVirtualHci({ radioPath: config.radioPath, address: config.address, name: config.name })
  let binding: InstanceType<typeof BlenoBleBinding> | undefined
  servePeer(
    {
      start: async (args: { tag: string; maxMessageSize?: number }, emit) => {
        binding = new BlenoBleBinding({
          deviceTag: args.tag,
          maxMessageSize: args.maxMessageSize,
          onError: (err) => emit('error', { name: err.name, code: (err as { code?: string }).code }),
        })
        await binding.start(async (session) => {
          emit('session', { id: session.id, mtu: session.mtu })
          void session.ended.then((end) =>
            emit('end', { id: session.id, reason: end.reason, code: end.error?.code }),
          )
          try {
            for await (const message of session) {
              emit('message', { id: session.id, message })
              await session.send(message.map((b) => b ^ 0xff))
            }
          } catch (err) {
            emit('receive-error', { id: session.id, code: (err as { code?: string }).code })
          }
        })
        return { ok: true }
      },
    },
    async () => {
      await binding?.stop()
      vhci.close()
    },
  )
}

interface ExchangeResult {
  mtu?: number
  ident?: Uint8Array
  replies: Uint8Array[]
  error?: { name: string; code?: string }
}

async function runTests(): Promise<void> {
  const { default: t } = await import('tap')

  const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
  const inverted = (m: Uint8Array) => m.map((b) => b ^ 0xff)
  const chunksFor = (size: number, mtu: number) => Math.max(1, Math.ceil(size / (mtu - 4)))

  /** A radio with boxes (tag → address) and one wallet, torn down with the test. */
  async function setup(
    t: Test,
    radioOptions: ConstructorParameters<typeof VirtualRadio>[0],
    boxes: Record<string, string>,
    boxOptions: { maxMessageSize?: number } = {},
  ) {
    const radio = new VirtualRadio(radioOptions)
    await radio.start()
    const peers: PeerProcess[] = []
    const box: Record<string, PeerProcess> = {}
    t.teardown(async () => {
      await Promise.all(peers.map((p) => p.stop()))
      await radio.stop()
    })
    for (const [tag, address] of Object.entries(boxes)) {
      const p = spawnPeer({ file: BOX_FILE, role: 'box', radioPath: radio.path, address })
      peers.push(p)
      box[tag] = p
    }
    const wallet = spawnPeer({ file: WALLET_FILE, role: 'wallet', radioPath: radio.path })
    peers.push(wallet)
    await Promise.all(Object.entries(box).map(([tag, p]) => p.call('start', { tag, ...boxOptions })))
    await radio.waitFor((cs) =>
      Object.keys(boxes).every((tag) => cs.some((c) => c.advertising && c.localName === `OPG ${tag}`)),
    )
    return { radio, box, wallet }
  }

  /** Wait for the first `event` from `p` after index `from`; IPC events trail the wallet's own result. */
  async function nextEvent(p: PeerProcess, event: string, from = 0, ms = 5000): Promise<unknown> {
    const until = Date.now() + ms
    for (;;) {
      const e = p.events.slice(from).find((x) => x.event === event)
      if (e) return e.data
      if (Date.now() > until) throw new Error(`no '${event}' event from ${p.role}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  const messagesSeen = (p: PeerProcess) =>
    p.events.filter((e) => e.event === 'message').map((e) => (e.data as { message: Uint8Array }).message)

  for (const c of [
    { mtu: 23, aclBufferPackets: 1, aclDataLength: 27 },
    { mtu: 185, aclBufferPackets: 8, aclDataLength: 251 },
    { mtu: 256, aclBufferPackets: 1, aclDataLength: 27 },
  ]) {
    t.test(
      `200- and 600-byte request/response at ATT MTU ${c.mtu}, ${c.aclBufferPackets} ACL buffer(s)`,
      async (t) => {
        const { radio, box, wallet } = await setup(
          t,
          { maxAttMtu: c.mtu, aclBufferPackets: c.aclBufferPackets, aclDataLength: c.aclDataLength },
          { K1: 'b0:0c:00:00:00:01' },
        )
        const requests = [bytes(200), bytes(600, 7)]
        const r = await wallet.call<ExchangeResult>('exchange', { tag: 'K1', messages: requests })
        t.notOk(r.error, 'no error')
        t.equal(r.mtu, c.mtu, 'wallet settled on the radio MTU')
        t.same(r.replies, requests.map(inverted), 'replies are whole and in order')
        t.same(messagesSeen(box.K1!), requests, 'the box handler got each request whole')
        const [link] = radio.links() as [LinkStats]
        t.equal(link.attMtu, c.mtu)
        const chunks = chunksFor(200, c.mtu) + chunksFor(600, c.mtu)
        t.equal(link.up.attOps.write_cmd, chunks, 'one write command per request chunk')
        t.equal(link.down.attOps.notify, chunks, 'one notification per response chunk')
        t.equal(radio.violations.aclOverflow, 0, 'hosts never overran the ACL buffers')
        t.equal(radio.violations.aclTooLong, 0, 'hosts fragmented to the LE ACL data length')
        t.same(radio.violations.unknownCommands, [])
      },
    )
  }

  t.test(
    'link lost mid-message: the handler never sees half a message; the wallet reconnects and retries',
    async (t) => {
      const { radio, box, wallet } = await setup(t, { maxAttMtu: 23 }, { K2: 'b0:0c:00:00:00:02' })
      const request = bytes(600, 3)
      radio.cutLinkAfterWrites(10)
      const first = await wallet.call<ExchangeResult>('exchange', {
        tag: 'K2',
        messages: [request],
        receiveTimeoutMs: 5000,
      })
      t.equal(first.error?.code, 'DISCONNECTED', 'the wallet learns the link dropped')
      t.same(messagesSeen(box.K2!), [], 'no partial message reached the handler')
      const end = await nextEvent(box.K2!, 'end')
      t.equal((end as { reason: string }).reason, 'disconnected', 'the box saw the session end with the link')
      await radio.waitFor((cs) => cs.some((c) => c.advertising && c.localName === 'OPG K2'))
      const second = await wallet.call<ExchangeResult>('exchange', { tag: 'K2', messages: [request] })
      t.notOk(second.error)
      t.same(second.replies, [inverted(request)])
      t.same(messagesSeen(box.K2!), [request], 'exactly the retried message arrived')
      const links = radio.links()
      t.equal(links.length, 2, 'two connections')
      t.ok(
        (links.find((l) => !l.open && l.up.attOps.write_cmd === 10) ?? false) !== false,
        'the cut link carried 10 chunks',
      )
    },
  )

  t.test('garbage, empty and oversized chunks end the session with typed errors', async (t) => {
    const { box, wallet } = await setup(
      t,
      { maxAttMtu: 185 },
      { K3: 'b0:0c:00:00:00:03' },
      { maxMessageSize: 1000 },
    )
    const cases: Array<{ chunks?: Uint8Array[]; messages?: Uint8Array[]; code: string }> = [
      { chunks: [Uint8Array.of(0x07, 1, 2, 3)], code: 'bad_encoding' },
      { chunks: [new Uint8Array(0)], code: 'truncated' },
      { messages: [bytes(1500)], code: 'oversized' },
    ]
    for (const c of cases) {
      const before = box.K3!.events.length
      const r = await wallet.call<ExchangeResult>('exchange', { tag: 'K3', ...c, receiveTimeoutMs: 5000 })
      t.equal(r.error?.code, 'ENDED_BY_BOX', `${c.code}: the wallet is told the box ended the session`)
      // The session's end and the handler's error come from two promises: either may be reported first.
      await nextEvent(box.K3!, 'end', before)
      await nextEvent(box.K3!, 'receive-error', before).catch(() => undefined)
      const seen = box.K3!.events.slice(before)
      t.ok(
        seen.some((e) => e.event === 'receive-error' && (e.data as { code: string }).code === c.code),
        `${c.code}: the handler got a ProtocolError '${c.code}' (events: ${JSON.stringify(seen.map((e) => e.event))})`,
      )
      t.ok(seen.some((e) => e.event === 'end' && (e.data as { reason: string }).reason === 'protocol_error'))
      t.notOk(seen.some((e) => e.event === 'message'))
    }
    const ok = await wallet.call<ExchangeResult>('exchange', { tag: 'K3', messages: [bytes(1000)] })
    t.notOk(ok.error, 'a message at the limit still goes through')
  })

  t.test('the wallet finds the right box by tag among two advertising boxes', async (t) => {
    const { radio, box, wallet } = await setup(t, {}, { A1: 'b0:0c:00:00:00:a1', B2: 'b0:0c:00:00:00:b2' })
    const request = bytes(64)
    const r = await wallet.call<ExchangeResult>('exchange', { tag: 'B2', messages: [request] })
    t.notOk(r.error)
    t.same(r.ident, new TextEncoder().encode('B2'), 'Ident names the box')
    t.same(messagesSeen(box.B2!), [request])
    t.same(messagesSeen(box.A1!), [])
    t.equal(radio.links()[0]?.peripheral, 'b0:0c:00:00:00:b2')
  })
}
