/** The virtual radio at the HCI level: two hand-driven hosts in one process, no bleno or noble. */
import t, { type Test } from 'tap'
import {
  createVirtualHciSocketClass,
  installVirtualHci,
  localNameOf,
  VirtualRadio,
  type VirtualRadioOptions,
} from '../src/virtual-hci/index.js'

/** A hand-driven host on a virtual controller: write raw HCI, wait for matching packets. */
class Host {
  readonly got: Buffer[] = []
  readonly socket
  constructor(radioPath: string, address: string) {
    const Socket = createVirtualHciSocketClass({ radioPath, address })
    this.socket = new Socket()
    this.socket.on('data', (d: Buffer) => this.got.push(d))
    this.socket.bindRaw(0)
    this.socket.start()
  }
  command(opcode: number, params: number[] = []): void {
    const b = Buffer.alloc(4 + params.length)
    b.writeUInt8(0x01, 0)
    b.writeUInt16LE(opcode, 1)
    b.writeUInt8(params.length, 3)
    Buffer.from(params).copy(b, 4)
    this.socket.write(b)
  }
  acl(handle: number, pb: number, l2cap: Buffer): void {
    const b = Buffer.alloc(5 + l2cap.length)
    b.writeUInt8(0x02, 0)
    b.writeUInt16LE(handle | (pb << 12), 1)
    b.writeUInt16LE(l2cap.length, 3)
    l2cap.copy(b, 5)
    this.socket.write(b)
  }
  async next(match: (p: Buffer) => boolean, ms = 2000): Promise<Buffer> {
    const until = Date.now() + ms
    for (;;) {
      const i = this.got.findIndex(match)
      if (i >= 0) return this.got.splice(i, 1)[0]!
      if (Date.now() > until) throw new Error('no matching HCI packet')
      await new Promise((r) => setTimeout(r, 5))
    }
  }
  complete(opcode: number) {
    return this.next((p) => p[1] === 0x0e && p.readUInt16LE(4) === opcode)
  }
}

async function radioWith(t: Test, options: VirtualRadioOptions = {}) {
  const radio = new VirtualRadio(options)
  await radio.start()
  const hosts: Host[] = []
  t.teardown(async () => {
    for (const h of hosts) h.socket.stop()
    await radio.stop()
  })
  const host = (address: string) => {
    const h = new Host(radio.path, address)
    hosts.push(h)
    return h
  }
  return { radio, host }
}

const l2capAtt = (pdu: number[]) => {
  const b = Buffer.alloc(4 + pdu.length)
  b.writeUInt16LE(pdu.length, 0)
  b.writeUInt16LE(4, 2)
  Buffer.from(pdu).copy(b, 4)
  return b
}

/** Advertise `name` from a, scan actively from b, connect b → a; returns the link handle. */
async function link(t: Test, a: Host, b: Host, name: string): Promise<number> {
  const scanRsp = [name.length + 1, 0x08, ...Buffer.from(name)]
  a.command(0x2009, [scanRsp.length, ...scanRsp])
  a.command(0x200a, [1])
  await a.complete(0x200a)
  b.command(0x200b, [1, 0x12, 0, 0x12, 0, 0, 0])
  b.command(0x200c, [1, 1])
  await b.next((p) => p[1] === 0x3e && p[3] === 0x02 && p[5] === 0x04)
  const target = [...Buffer.from('aa0000000001', 'hex').reverse()]
  b.command(0x200d, [0x60, 0, 0x30, 0, 0, 0, ...target, 0, 6, 0, 12, 0, 0, 0, 42, 0, 4, 0, 6, 0])
  const status = await b.next((p) => p[1] === 0x0f)
  t.equal(status[3], 0, 'create connection: command status ok')
  const central = await b.next((p) => p[1] === 0x3e && p[3] === 0x01)
  const periph = await a.next((p) => p[1] === 0x3e && p[3] === 0x01)
  t.equal(central[7], 0, 'central role')
  t.equal(periph[7], 1, 'peripheral role')
  return central.readUInt16LE(5)
}

t.test('answers the start-up commands bleno and noble send', async (t) => {
  const { radio, host } = await radioWith(t, { aclBufferPackets: 3, aclDataLength: 27 })
  const h = host('aa:00:00:00:00:01')
  h.command(0x1001)
  const version = await h.complete(0x1001)
  t.ok((version[7] ?? 0) >= 6, 'HCI version 4.0 or later')
  h.command(0x2002)
  const buf = await h.complete(0x2002)
  t.same([buf.readUInt16LE(7), buf[9]], [27, 3], 'LE buffer size from the options')
  h.command(0x1009)
  const addr = await h.complete(0x1009)
  t.equal(Buffer.from(addr.subarray(7, 13)).reverse().toString('hex'), 'aa0000000001')
  h.command(0x0c6c)
  t.same([...(await h.complete(0x0c6c)).subarray(6)], [0, 1, 0], 'LE supported by the host')
  h.command(0x1234)
  t.equal((await h.complete(0x1234))[6], 0x01, 'unknown command')
  t.same(radio.violations.unknownCommands, [0x1234])
})

t.test(
  'advertising, active scan (ADV_IND then SCAN_RSP), connection roles, ACL routing and flow control',
  async (t) => {
    const { radio, host } = await radioWith(t, { aclBufferPackets: 1, maxAttMtu: 100 })
    const a = host('aa:00:00:00:00:01')
    const b = host('bb:00:00:00:00:02')
    const handle = await link(t, a, b, 'OPG X')
    t.equal(
      radio.controllers().find((c) => c.address === 'aa:00:00:00:00:01')?.advertising,
      false,
      'stops advertising',
    )
    // MTU request 256 from the central is capped at 100 on the way.
    b.acl(handle, 0, l2capAtt([0x02, 0x00, 0x01]))
    const req = await a.next((p) => p[0] === 0x02)
    t.equal(req.readUInt16LE(1) >> 12, 0x2, 'start fragment arrives flushable (10)')
    t.equal(req.readUInt16LE(10), 100, 'MTU request capped')
    await b.next((p) => p[1] === 0x13)
    a.acl(handle, 0, l2capAtt([0x03, 0x00, 0x01]))
    await b.next((p) => p[0] === 0x02)
    t.equal(radio.links()[0]?.attMtu, 100)
    // Two packets back to back with one buffer: the second is an overflow.
    b.acl(handle, 0, l2capAtt([0x52, 0x10, 0x00, 0x01]))
    b.acl(handle, 0, l2capAtt([0x52, 0x10, 0x00, 0x02]))
    await a.next((p) => p[0] === 0x02)
    await a.next((p) => p[0] === 0x02)
    t.equal(radio.violations.aclOverflow, 1, 'the host overran the single ACL buffer')
    t.same(radio.links()[0]?.up.attOps, { mtu_req: 1, write_cmd: 2 })
    t.equal(radio.links()[0]?.down.attOps.mtu_rsp, 1)
  },
)

t.test('a write split over ACL fragments is counted once; the cut hook drops the link', async (t) => {
  const { radio, host } = await radioWith(t)
  const a = host('aa:00:00:00:00:01')
  const b = host('bb:00:00:00:00:02')
  const handle = await link(t, a, b, 'OPG Y')
  radio.cutLinkAfterWrites(1)
  const l2 = l2capAtt([0x52, 0x10, 0x00, ...new Array(40).fill(7)])
  b.acl(handle, 0, l2.subarray(0, 20))
  b.acl(handle, 1, l2.subarray(20))
  const cont = await a.next((p) => p[0] === 0x02 && p.readUInt16LE(1) >> 12 === 0x1)
  t.equal(cont.length, 5 + l2.length - 20, 'continuation delivered before the cut')
  const da = await a.next((p) => p[1] === 0x05)
  const db = await b.next((p) => p[1] === 0x05)
  t.same([da[6], db[6]], [0x08, 0x08], 'both see a connection timeout')
  t.same(radio.links()[0]?.up.attOps, { write_cmd: 1 })
  t.equal(radio.links()[0]?.open, false)
})

t.test('disconnect command and a vanished host both end the link for the peer', async (t) => {
  const { radio, host } = await radioWith(t)
  const a = host('aa:00:00:00:00:01')
  const b = host('bb:00:00:00:00:02')
  let handle = await link(t, a, b, 'OPG Z')
  b.command(0x0406, [handle & 0xff, handle >> 8, 0x13])
  t.equal((await b.next((p) => p[1] === 0x0f))[3], 0)
  t.equal((await b.next((p) => p[1] === 0x05))[6], 0x16, 'initiator: terminated by local host')
  t.equal((await a.next((p) => p[1] === 0x05))[6], 0x13, 'peer: remote user terminated')
  a.got.length = 0
  b.got.length = 0
  handle = await link(t, a, b, 'OPG Z')
  a.socket.stop()
  t.equal((await b.next((p) => p[1] === 0x05 && p.readUInt16LE(4) === handle))[6], 0x08)
  await radio.waitFor((cs) => cs.length === 1)
})

t.test('installVirtualHci refuses the user channel; localNameOf reads AD structures', async (t) => {
  const saved = process.env.HCI_CHANNEL_USER
  process.env.HCI_CHANNEL_USER = '1'
  t.throws(() => installVirtualHci({ radioPath: '/nonexistent' }), { code: 'user_channel' })
  if (saved === undefined) delete process.env.HCI_CHANNEL_USER
  else process.env.HCI_CHANNEL_USER = saved
  t.equal(localNameOf(Buffer.from([2, 0x01, 0x06, 4, 0x08, 0x4f, 0x50, 0x47])), 'OPG')
  t.equal(localNameOf(Buffer.from([2, 0x01, 0x06])), undefined)
})
