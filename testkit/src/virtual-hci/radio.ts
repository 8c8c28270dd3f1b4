/**
 * A virtual BLE radio: a unix-socket hub where each connected client is one virtual HCI controller.
 * Controllers answer the HCI commands bleno and noble send at start-up, hear each other's advertisements
 * (ADV_IND, then SCAN_RSP for active scanners), connect (LE Connection Complete as central / peripheral),
 * and carry ACL data between linked hosts with per-controller buffer accounting (Number Of Completed Packets).
 * The hub runs in the test process, so its link counters and fault hooks are plain method calls, while each
 * bleno or noble runs in its own child process (bleno holds process-wide state: one per process).
 */
import { EventEmitter } from 'node:events'
import { rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { countAtt, emptyDirection, type LinkStats, sumDirections } from './att-stats.js'
import { type Controller, type ControllerInfo, controllerInfo, localReply } from './controller.js'
import * as H from './hci-packets.js'
import { type Link, reassembleAtt, rewriteMtu } from './link.js'

export { type ControllerInfo, localNameOf } from './controller.js'

/** Options of a VirtualRadio. */
export interface VirtualRadioOptions {
  /** Unix socket path; default a fresh one in the temp directory. */
  path?: string
  /** ACL buffers per controller (HCI_LE_Read_Buffer_Size "total packets"); 1 forces strict flow control. Default 8. */
  aclBufferPackets?: number
  /** LE ACL data packet length per controller; 27 is the Bluetooth 4.0 size, 251 with data length extension. Default 251. */
  aclDataLength?: number
  /** Cap applied to both ATT MTU exchange values in flight, as a central that asks for at most this MTU would. */
  maxAttMtu?: number
}

/** Host protocol violations the radio saw; a correct host keeps these at zero. */
export interface RadioViolations {
  /** ACL packets sent while all the controller's buffers were in use. */
  aclOverflow: number
  /** ACL packets longer than the advertised LE ACL data length. */
  aclTooLong: number
  /** ACL packets for a handle with no open link (e.g. after a disconnect). */
  aclDropped: number
  /** Packets too short for their own header; the sending controller is dropped. */
  malformed: number
  /** Commands the virtual controller does not know (answered with status 0x01). */
  unknownCommands: number[]
}

const HELLO = 0xff

/**
 * The radio hub. `start()` listens; each `VirtualHciSocket` (see hci-socket.ts) that connects is a controller.
 * Events: 'controller' (info), 'advertising' (info), 'connect' (LinkStats), 'disconnect' (LinkStats), and
 * 'change' after anything that can alter controllers() or links().
 */
export class VirtualRadio extends EventEmitter {
  readonly path: string
  readonly aclBufferPackets: number
  readonly aclDataLength: number
  readonly maxAttMtu: number | undefined
  readonly violations: RadioViolations = {
    aclOverflow: 0,
    aclTooLong: 0,
    aclDropped: 0,
    malformed: 0,
    unknownCommands: [],
  }
  #server: net.Server | undefined
  #controllers = new Set<Controller>()
  #links = new Map<number, Link>()
  #closedLinks: LinkStats[] = []
  #nextId = 1
  #nextHandle = 0x40
  #cutAfterWrites: number | undefined

  constructor(options: VirtualRadioOptions = {}) {
    super()
    this.path = options.path ?? join(tmpdir(), `opg-radio-${process.pid}-${Date.now().toString(36)}.sock`)
    this.aclBufferPackets = options.aclBufferPackets ?? 8
    this.aclDataLength = options.aclDataLength ?? 251
    this.maxAttMtu = options.maxAttMtu
  }

  /** Listen on the unix socket. */
  async start(): Promise<void> {
    rmSync(this.path, { force: true })
    const server = net.createServer((socket) => this.#accept(socket))
    this.#server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.path, () => {
        server.off('error', reject)
        resolve()
      })
    })
  }

  /** Drop every controller and stop listening. */
  async stop(): Promise<void> {
    for (const c of this.#controllers) c.socket.destroy()
    this.#controllers.clear()
    const server = this.#server
    this.#server = undefined
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()))
    rmSync(this.path, { force: true })
  }

  /** The controllers now attached. */
  controllers(): ControllerInfo[] {
    return [...this.#controllers].map((c) => controllerInfo(c))
  }

  /** Counters of every link, open ones first, then closed ones in closing order. */
  links(): LinkStats[] {
    return [...[...this.#links.values()].map((l) => l.stats), ...this.#closedLinks].map((s) =>
      structuredClone(s),
    )
  }

  /** Both directions of every link summed. */
  totals() {
    const all = this.links()
    return { up: sumDirections(all.map((l) => l.up)), down: sumDirections(all.map((l) => l.down)) }
  }

  /** Forget closed links' counters and zero the open ones (e.g. between benchmark rounds). */
  resetStats(): void {
    this.#closedLinks = []
    for (const l of this.#links.values()) {
      l.stats.up = emptyDirection()
      l.stats.down = emptyDirection()
    }
  }

  /**
   * Fault hook: once the central has sent `n` more ATT Write Commands on any link, drop that link right after
   * delivering the n-th (both hosts get Disconnection Complete, reason 0x08 connection timeout).
   */
  cutLinkAfterWrites(n: number): void {
    this.#cutAfterWrites = n
  }

  /** Drop every open link as if the peers walked out of range. */
  dropAllLinks(): void {
    for (const link of [...this.#links.values()]) this.#closeLink(link, H.STATUS.connectionTimeout, undefined)
  }

  /** Resolve once `predicate` holds (checked on every controller, link and ATT PDU change). */
  async waitFor(predicate: (controllers: ControllerInfo[]) => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate(this.controllers())) return
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate(this.controllers())) return
        cleanup()
        resolve()
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`radio: condition not met within ${timeoutMs} ms`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        this.off('change', check)
      }
      this.on('change', check)
    })
  }

  #accept(socket: net.Socket): void {
    const decoder = new H.FrameDecoder()
    let ctrl: Controller | undefined
    socket.on('data', (data) => {
      try {
        for (const frame of decoder.push(data)) {
          if (!ctrl) {
            if (frame[0] !== HELLO) throw new Error('no hello')
            ctrl = this.#attach(socket, JSON.parse(frame.subarray(1).toString('utf8')))
            continue
          }
          this.#onPacket(ctrl, Buffer.from(frame))
        }
      } catch {
        // A malformed packet is a broken host: drop its controller rather than the test process.
        this.violations.malformed++
        socket.destroy()
      }
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      if (ctrl) this.#detach(ctrl)
    })
  }

  #attach(socket: net.Socket, hello: { address?: string; name?: string }): Controller {
    const id = this.#nextId++
    const address = hello.address ?? `c0:ff:ee:00:00:${id.toString(16).padStart(2, '0')}`
    const ctrl: Controller = {
      id,
      address,
      name: hello.name ?? `controller-${id}`,
      socket,
      advEnabled: false,
      advData: Buffer.alloc(0),
      scanRspData: Buffer.alloc(0),
      scanning: false,
      activeScan: false,
      pendingConnect: undefined,
      outstanding: 0,
    }
    this.#controllers.add(ctrl)
    this.emit('controller', controllerInfo(ctrl))
    this.emit('change')
    return ctrl
  }

  #detach(ctrl: Controller): void {
    this.#controllers.delete(ctrl)
    for (const link of [...this.#links.values()]) {
      if (link.central === ctrl || link.peripheral === ctrl)
        this.#closeLink(link, H.STATUS.connectionTimeout, ctrl)
    }
    this.emit('change')
  }

  #send(ctrl: Controller, packet: Buffer): void {
    if (!ctrl.socket.destroyed) ctrl.socket.write(H.encodeFrame(packet))
  }

  #onPacket(ctrl: Controller, pkt: Buffer): void {
    if (pkt[0] === H.HCI_COMMAND_PKT)
      this.#onCommand(ctrl, pkt.readUInt16LE(1), pkt.subarray(4, 4 + (pkt[3] ?? 0)))
    else if (pkt[0] === H.HCI_ACLDATA_PKT) this.#onAcl(ctrl, pkt)
  }

  #onCommand(ctrl: Controller, op: number, p: Buffer): void {
    const ok = (result?: Buffer) => this.#send(ctrl, H.commandComplete(op, H.STATUS.success, result))
    const local = localReply(ctrl, op, p, this)
    if (local) {
      ok(local)
      return
    }
    switch (op) {
      case H.OP.leSetAdvData:
      case H.OP.leSetScanRspData: {
        const data = Buffer.from(p.subarray(1, 1 + Math.min(p[0] ?? 0, 31)))
        const key = op === H.OP.leSetAdvData ? 'advData' : 'scanRspData'
        const changed = !ctrl[key].equals(data)
        ctrl[key] = data
        ok()
        if (changed && ctrl.advEnabled) this.#advertiseToScanners(ctrl)
        return
      }
      case H.OP.leSetAdvEnable: {
        const enable = p[0] === 1
        const was = ctrl.advEnabled
        // A connected peripheral cannot advertise connectably again until its link closes.
        ctrl.advEnabled = enable && !this.#hasLink(ctrl)
        ok()
        if (ctrl.advEnabled && !was) this.#onAdvertisingStarted(ctrl)
        this.emit('change')
        return
      }
      case H.OP.leSetScanEnable: {
        const was = ctrl.scanning
        ctrl.scanning = p[0] === 1
        ok()
        if (ctrl.scanning && !was) {
          for (const other of this.#controllers)
            if (other !== ctrl && other.advEnabled) this.#deliverAdv(other, ctrl)
        }
        this.emit('change')
        return
      }
      case H.OP.leCreateConn: {
        this.#send(ctrl, H.commandStatus(op, H.STATUS.success))
        ctrl.pendingConnect = p.subarray(6, 12).toString('hex').match(/../g)?.reverse().join(':')
        const target = [...this.#controllers].find((c) => c.address === ctrl.pendingConnect && c.advEnabled)
        if (target) this.#connect(ctrl, target)
        return
      }
      case H.OP.leCreateConnCancel: {
        ok()
        if (ctrl.pendingConnect !== undefined) {
          ctrl.pendingConnect = undefined
          this.#send(ctrl, H.leConnectionComplete(H.STATUS.unknownConnection, 0, 0, Buffer.alloc(6)))
        }
        return
      }
      case H.OP.disconnect: {
        const link = this.#links.get(p.readUInt16LE(0))
        if (!link || (link.central !== ctrl && link.peripheral !== ctrl)) {
          this.#send(ctrl, H.commandStatus(op, H.STATUS.unknownConnection))
          return
        }
        this.#send(ctrl, H.commandStatus(op, H.STATUS.success))
        this.#closeLink(link, p[2] ?? H.STATUS.remoteUserTerminated, ctrl)
        return
      }
      default:
        this.violations.unknownCommands.push(op)
        this.#send(ctrl, H.commandComplete(op, H.STATUS.unknownCommand))
    }
  }

  #hasLink(ctrl: Controller): boolean {
    for (const l of this.#links.values()) if (l.central === ctrl || l.peripheral === ctrl) return true
    return false
  }

  #onAdvertisingStarted(ctrl: Controller): void {
    this.emit('advertising', controllerInfo(ctrl))
    const initiator = [...this.#controllers].find((c) => c.pendingConnect === ctrl.address)
    if (initiator) {
      this.#connect(initiator, ctrl)
      return
    }
    this.#advertiseToScanners(ctrl)
  }

  #advertiseToScanners(adv: Controller): void {
    for (const scanner of this.#controllers)
      if (scanner !== adv && scanner.scanning) this.#deliverAdv(adv, scanner)
  }

  #deliverAdv(adv: Controller, scanner: Controller): void {
    const addr = H.addressToHci(adv.address)
    this.#send(scanner, H.advertisingReport(H.ADV_IND, addr, adv.advData))
    // noble reports a connectable device only after its scan response, so active scans must get one.
    if (scanner.activeScan) this.#send(scanner, H.advertisingReport(H.SCAN_RSP, addr, adv.scanRspData))
  }

  #connect(central: Controller, peripheral: Controller): void {
    central.pendingConnect = undefined
    peripheral.advEnabled = false
    const handle = this.#nextHandle++
    const stats: LinkStats = {
      id: handle,
      central: central.address,
      peripheral: peripheral.address,
      open: true,
      attMtu: 23,
      up: emptyDirection(),
      down: emptyDirection(),
    }
    const link: Link = {
      handle,
      central,
      peripheral,
      stats,
      rx: { up: undefined, down: undefined },
      mtuReq: 23,
    }
    this.#links.set(handle, link)
    this.#send(
      central,
      H.leConnectionComplete(H.STATUS.success, handle, 0, H.addressToHci(peripheral.address)),
    )
    this.#send(
      peripheral,
      H.leConnectionComplete(H.STATUS.success, handle, 1, H.addressToHci(central.address)),
    )
    this.emit('connect', structuredClone(stats))
    this.emit('change')
  }

  #closeLink(link: Link, reason: number, initiator: Controller | undefined): void {
    if (!this.#links.delete(link.handle)) return
    link.stats.open = false
    this.#closedLinks.push(link.stats)
    for (const side of [link.central, link.peripheral]) {
      side.outstanding = 0
      const why = side === initiator ? H.STATUS.localHostTerminated : reason
      this.#send(side, H.disconnectionComplete(link.handle, why))
    }
    this.emit('disconnect', structuredClone(link.stats))
    this.emit('change')
  }

  #onAcl(from: Controller, pkt: Buffer): void {
    const field = pkt.readUInt16LE(1)
    const handle = field & 0x0fff
    const pb = (field >> 12) & 0x3
    const data = pkt.subarray(5, 5 + pkt.readUInt16LE(3))
    const link = this.#links.get(handle)
    if (!link || (link.central !== from && link.peripheral !== from)) {
      this.violations.aclDropped++
      return
    }
    from.outstanding++
    if (from.outstanding > this.aclBufferPackets) this.violations.aclOverflow++
    if (data.length > this.aclDataLength) this.violations.aclTooLong++
    const dir = from === link.central ? 'up' : 'down'
    const to = dir === 'up' ? link.peripheral : link.central
    const stats = link.stats[dir]
    stats.aclPackets++
    stats.aclBytes += data.length
    const isStart = pb === H.PB_START_NO_FLUSH || pb === H.PB_START
    if (isStart) rewriteMtu(link, data, this.maxAttMtu)
    const pdu = reassembleAtt(link, dir, isStart, data)
    const cut = pdu ? this.#countAtt(link, dir, pdu) : false
    // Hosts send "start, non-flushable" (00); a receiving host expects "start, flushable" (10).
    this.#send(to, H.aclPacket(handle, isStart ? H.PB_START : pb, data))
    setImmediate(() => {
      if (!this.#links.has(handle)) return
      from.outstanding = Math.max(0, from.outstanding - 1)
      this.#send(from, H.numberOfCompletedPackets(handle, 1))
    })
    if (cut) this.#closeLink(link, H.STATUS.connectionTimeout, undefined)
  }

  /** Count a completed ATT PDU; returns true when the cut-link hook fires on it. */
  #countAtt(link: Link, dir: 'up' | 'down', pdu: Buffer): boolean {
    countAtt(link.stats[dir], pdu)
    this.emit('change')
    if (dir !== 'up' || pdu[0] !== 0x52 || this.#cutAfterWrites === undefined) return false
    this.#cutAfterWrites--
    if (this.#cutAfterWrites > 0) return false
    this.#cutAfterWrites = undefined
    return true
  }
}
