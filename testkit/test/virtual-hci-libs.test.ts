/**
 * The unmodified bleno and noble, each in its own child process, talking over the virtual radio:
 * advertise, scan, connect, discover, write, notify, disconnect.
 */
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import {
  installVirtualHci,
  peerConfig,
  servePeer,
  spawnPeer,
  VirtualRadio,
} from '../src/virtual-hci/index.js'

const SERVICE = '6f70670a1c5e4b2d9e8a3c1f0b7d5eff'
const CHAR = '6f70670a1c5e4b2d9e8a3c1f0b7d5efe'

type Cb = (...args: unknown[]) => void
interface Emitter {
  on(e: string, cb: Cb): unknown
  once(e: string, cb: Cb): unknown
}

const peer = peerConfig()
if (peer?.role === 'peripheral') {
  const vhci = installVirtualHci({ radioPath: peer.radioPath, address: peer.address, name: peer.name })
  const require = createRequire(import.meta.url)
  const bleno = require('@abandonware/bleno') as Emitter & {
    Characteristic: new (o: Record<string, unknown>) => unknown
    PrimaryService: new (o: Record<string, unknown>) => unknown
    startAdvertising(name: string, uuids: string[], cb: Cb): void
    stopAdvertising(): void
    setServices(s: unknown[], cb: Cb): void
    _bindings: { _hci: { pollIsDevUp(): void } }
  }
  let notify: ((b: Buffer) => void) | undefined
  const ch = new bleno.Characteristic({
    uuid: CHAR,
    properties: ['writeWithoutResponse', 'notify'],
    onSubscribe: (_max: number, cb: (b: Buffer) => void) => {
      notify = cb
    },
    onWriteRequest: (data: Buffer, _o: number, _w: boolean, cb: (r: number) => void) => {
      notify?.(Buffer.from(data).reverse())
      cb(0)
    },
  })
  bleno.on('stateChange', (state) => {
    if (state !== 'poweredOn') return
    bleno.setServices([new bleno.PrimaryService({ uuid: SERVICE, characteristics: [ch] })], () => {
      bleno.startAdvertising('virt-periph', [SERVICE], () => {})
    })
  })
  servePeer({}, () => {
    bleno.stopAdvertising()
    bleno._bindings._hci.pollIsDevUp = () => {}
    vhci.close()
  })
} else if (peer?.role === 'central') {
  const vhci = installVirtualHci({ radioPath: peer.radioPath, address: peer.address, name: peer.name })
  const require = createRequire(import.meta.url)
  interface Characteristic extends Emitter {
    uuid: string
    subscribeAsync(): Promise<void>
    writeAsync(b: Buffer, withoutResponse: boolean): Promise<void>
  }
  interface Peripheral extends Emitter {
    advertisement: { localName?: string }
    mtu: number | null
    connectAsync(): Promise<void>
    disconnectAsync(): Promise<void>
    discoverSomeServicesAndCharacteristicsAsync(
      s: string[],
      c: string[],
    ): Promise<{ characteristics: Characteristic[] }>
  }
  const noble = require('@abandonware/noble') as Emitter & {
    state: string
    startScanningAsync(uuids: string[], dup: boolean): Promise<void>
    stopScanningAsync(): Promise<void>
    _bindings: { _hci: { pollIsDevUp(): void } }
  }
  servePeer(
    {
      echo: async (args: { text: string }) => {
        if (noble.state !== 'poweredOn') await new Promise((r) => noble.once('stateChange', r))
        const found = new Promise<Peripheral>((r) => noble.once('discover', (p) => r(p as Peripheral)))
        await noble.startScanningAsync([SERVICE], false)
        const p = await found
        await noble.stopScanningAsync()
        await p.connectAsync()
        const { characteristics } = await p.discoverSomeServicesAndCharacteristicsAsync([SERVICE], [CHAR])
        const c = characteristics[0]!
        const got = new Promise<Buffer>((r) => c.once('data', (d) => r(d as Buffer)))
        await c.subscribeAsync()
        await c.writeAsync(Buffer.from(args.text), true)
        const reply = (await got).toString()
        const disconnected = new Promise((r) => p.once('disconnect', r))
        await p.disconnectAsync()
        await disconnected
        return { name: p.advertisement.localName, mtu: p.mtu, reply }
      },
    },
    () => {
      noble._bindings._hci.pollIsDevUp = () => {}
      vhci.close()
    },
  )
} else {
  const { default: t } = await import('tap')
  const file = fileURLToPath(import.meta.url)

  t.test('bleno peripheral and noble central exchange data over the radio', async (t) => {
    const radio = new VirtualRadio({ aclBufferPackets: 1, aclDataLength: 27 })
    await radio.start()
    const periph = spawnPeer({
      file,
      role: 'peripheral',
      radioPath: radio.path,
      address: '11:22:33:44:55:66',
    })
    const central = spawnPeer({ file, role: 'central', radioPath: radio.path })
    t.teardown(async () => {
      await Promise.all([periph.stop(), central.stop()])
      await radio.stop()
    })
    await radio.waitFor((cs) => cs.some((c) => c.advertising && c.localName === 'virt-periph'))
    const result = await central.call<{ name: string; mtu: number; reply: string }>('echo', {
      text: 'hello radio',
    })
    t.same(result, { name: 'virt-periph', mtu: 256, reply: 'oidar olleh' })
    const [link] = radio.links()
    t.equal(link?.peripheral, '11:22:33:44:55:66')
    t.equal(link?.attMtu, 256)
    t.equal(link?.up.attOps.write_cmd, 1)
    t.equal(link?.down.attOps.notify, 1)
    t.equal(link?.open, false, 'the central disconnected')
    t.same(radio.violations, {
      aclOverflow: 0,
      aclTooLong: 0,
      aclDropped: 0,
      malformed: 0,
      unknownCommands: [],
    })
    t.equal(await periph.stop(), 0)
    t.equal(await central.stop(), 0)
  })
}
