/**
 * The camera side of acceptance: capture a frame, decode a QR code, accept it. A phone stays in front of the
 * camera for several frames, so a text just handled is ignored for `repeatMs` (otherwise the second frame
 * would flash a red "replay" right after the green).
 */
import type { Camera, QrScanner } from '../bindings/camera/index.js'
import type { AcceptOutcome, Acceptor } from './acceptor.js'

export interface QrLoopOptions {
  camera: Camera
  scanner: QrScanner
  acceptor: Pick<Acceptor, 'accept'>
  /** Pause between captures when nothing was seen (0 with a warm camera: `capture()` waits for the next frame). */
  idleMs?: number
  /** Pause after a failed capture or decode, so a broken camera is not restarted in a tight loop (default 1 s). */
  errorPauseMs?: number
  repeatMs?: number
  now?: () => number
  onOutcome?: (out: AcceptOutcome) => void
  onError?: (err: unknown) => void
}

export class QrAcceptLoop {
  readonly #o: QrLoopOptions
  #running = false
  #loop: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #wake: (() => void) | undefined
  #last: { text: string; at: number } | undefined

  constructor(o: QrLoopOptions) {
    this.#o = o
  }

  async start(): Promise<void> {
    if (this.#running) return
    await this.#o.scanner.start()
    await this.#o.camera.start()
    this.#running = true
    this.#loop = this.#run()
  }

  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#wake?.()
    await this.#loop
    await this.#o.camera.stop()
    await this.#o.scanner.stop()
  }

  async #run(): Promise<void> {
    const now = this.#o.now ?? Date.now
    while (this.#running) {
      let pause = this.#o.idleMs ?? 200
      try {
        const frame = await this.#o.camera.capture()
        const text = await this.#o.scanner.decode(frame.bytes)
        if (text && !(this.#last?.text === text && now() - this.#last.at < (this.#o.repeatMs ?? 5_000))) {
          this.#last = { text, at: now() }
          this.#o.onOutcome?.(await this.#o.acceptor.accept({ qrText: text }))
          continue
        }
      } catch (err) {
        if (this.#running) this.#o.onError?.(err)
        pause = Math.max(pause, this.#o.errorPauseMs ?? 1_000)
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve
        this.#timer = setTimeout(resolve, pause)
      })
    }
  }
}
