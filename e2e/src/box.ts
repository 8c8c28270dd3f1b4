/**
 * One merchant box in simulated-hardware mode, in this process: the real node (config and key files from
 * provisioning, file vault, trusted clock, MQTT sync, confirmations) with simulated GPIO, modem and camera.
 * The camera runs the real QR loop — frames rendered as PNG, decoded by zxing-wasm — so a payment shown to
 * `showQr` goes the way a phone held up to a real box goes. The control socket is served too, so
 * `opg-node status|sync|scan --config <configPath>` work against this box from another terminal.
 */

import type { ble } from '@opg/node-runtime'
import {
  type AcceptOutcome,
  ControlServer,
  camera as cameraBindings,
  controlSocketPath,
  gpio as gpioBindings,
  type Logger,
  loadConfigFile,
  loadSecrets,
  modem as modemBindings,
  type NodeConfig,
  nodeControlHandler,
  type OpenedNode,
  type OpgNode,
  openNode,
  QrAcceptLoop,
} from '@opg/node-runtime'

/** The merchant's signal: green with the payment, or red with the refusal code. */
export type BoxSignal =
  | { ok: true; txId: string; amount: number; currency: string }
  | { ok: false; code: string }

/** Options of LocalBox. */
export interface LocalBoxOptions {
  configPath: string
  /** Overrides the config's MQTT URL (the box reaches the broker through a NetLink). */
  mqttUrl?: string
  log?: Logger
  /** The BLE payment channel (bleno on a real or virtual radio); none by default. */
  ble?: ble.BleBinding
  /** Pause between camera frames when no code is in view (default 250 ms). */
  cameraIdleMs?: number
  /** The box's system clock (default Date.now), trusted only until the bridge sends the time. */
  systemTime?: () => number
}

/** A box started from its provisioned config, with simulated hardware. */
export class LocalBox {
  readonly #o: LocalBoxOptions
  readonly gpio = new gpioBindings.SimGpio()
  readonly modem = new modemBindings.SimModem()
  readonly camera = new cameraBindings.SimCamera()
  #opened: OpenedNode | undefined
  #loop: QrAcceptLoop | undefined
  #control: ControlServer | undefined
  readonly #outcomeWatchers = new Set<(o: AcceptOutcome) => void>()
  readonly #signalWatchers = new Set<(s: BoxSignal) => void>()

  constructor(o: LocalBoxOptions) {
    this.#o = o
  }

  get node(): OpgNode {
    if (!this.#opened) throw new Error('box not started')
    return this.#opened.node
  }

  get config(): NodeConfig {
    if (!this.#opened) throw new Error('box not started')
    return this.#opened.config
  }

  get controlSocket(): string {
    return controlSocketPath(this.config.dataDir)
  }

  async start(): Promise<void> {
    const { config } = await loadConfigFile(this.#o.configPath, {})
    config.hardware.mode = 'sim'
    if (this.#o.mqttUrl) config.mqtt.url = this.#o.mqttUrl
    const secrets = await loadSecrets(config)
    const log = this.#o.log
    await this.gpio.start()
    try {
      this.#opened = await openNode(config, secrets, {
        ...(log ? { log } : {}),
        signal: {
          accepted: ({ txId, amount, currency }) => {
            gpioBindings.signalAccepted(this.gpio)
            for (const w of [...this.#signalWatchers]) w({ ok: true, txId, amount, currency })
          },
          rejected: ({ code }) => {
            gpioBindings.signalRejected(this.gpio)
            for (const w of [...this.#signalWatchers]) w({ ok: false, code })
          },
        },
        modem: this.modem,
        gpio: this.gpio,
        ...(this.#o.ble ? { ble: this.#o.ble } : {}),
        ...(this.#o.systemTime ? { systemTime: this.#o.systemTime } : {}),
      })
      const node = this.#opened.node
      node.sync.on('online', () => gpioBindings.signalOnline(this.gpio, true))
      node.sync.on('offline', () => gpioBindings.signalOnline(this.gpio, false))
      this.#control = new ControlServer(controlSocketPath(config.dataDir), nodeControlHandler(node))
      await this.#control.start()
      await node.start()
      this.#loop = new QrAcceptLoop({
        camera: this.camera,
        scanner: new cameraBindings.QrScanner(),
        acceptor: node,
        idleMs: this.#o.cameraIdleMs ?? 250,
        onOutcome: (out) => {
          log?.info({ ok: out.ok, ...(out.ok ? {} : { code: out.code }) }, 'QR payment')
          for (const w of [...this.#outcomeWatchers]) w(out)
        },
        onError: (err) => log?.warn({ err: String(err) }, 'camera'),
      })
      await this.#loop.start()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** What the merchant sees for every payment (camera, BLE or control socket): green or red. */
  onSignal(fn: (s: BoxSignal) => void): () => void {
    this.#signalWatchers.add(fn)
    return () => this.#signalWatchers.delete(fn)
  }

  /** Every QR outcome from the camera; returns an unsubscribe function. */
  onOutcome(fn: (o: AcceptOutcome) => void): () => void {
    this.#outcomeWatchers.add(fn)
    return () => this.#outcomeWatchers.delete(fn)
  }

  /**
   * Hold a phone showing `qrText` in front of the camera until the box has decided, then take it away.
   * Resolves with the box's outcome (accepted with a receipt, or refused with a code).
   */
  async showQr(qrText: string, timeoutMs = 20_000): Promise<AcceptOutcome> {
    const outcome = new Promise<AcceptOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error('the box did not read the QR code in time'))
      }, timeoutMs)
      const off = this.onOutcome((o) => {
        clearTimeout(timer)
        off()
        resolve(o)
      })
    })
    this.camera.showQr(qrText)
    try {
      return await outcome
    } finally {
      this.camera.showNothing()
    }
  }

  /** Stop the camera loop, the control socket, the node and the bindings. Idempotent. */
  async stop(): Promise<void> {
    const loop = this.#loop
    this.#loop = undefined
    await loop?.stop().catch(() => {})
    const control = this.#control
    this.#control = undefined
    await control?.stop().catch(() => {})
    const opened = this.#opened
    this.#opened = undefined
    await opened?.close()
    await this.gpio.stop()
  }
}
