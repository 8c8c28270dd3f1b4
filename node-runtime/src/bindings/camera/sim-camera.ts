/**
 * A simulated camera: tests and the local demo "hold up a phone" with `showQr(text)`, and every capture returns a
 * real 1280×720 PNG frame of it, which the QR scanner decodes like any camera frame.
 */
import { type Camera, CameraError, type CapturedImage } from './camera.js'
import { type QrFrameOptions, renderQrFrame } from './qr-frame.js'

/** The simulated camera binding. */
export class SimCamera implements Camera {
  /** Hook: number of frames captured. */
  captures = 0
  private running = false
  private scene: { text: string | null; opts: QrFrameOptions } = { text: null, opts: {} }
  private frame: Uint8Array | null = null

  async start(): Promise<void> {
    this.running = true
  }

  async stop(): Promise<void> {
    this.running = false
  }

  /** Hook: a phone showing this QR text is held in front of the camera. */
  showQr(text: string, opts: QrFrameOptions = {}): void {
    this.scene = { text, opts }
    this.frame = null
  }

  /** Hook: nothing in front of the camera. */
  showNothing(): void {
    this.scene = { text: null, opts: {} }
    this.frame = null
  }

  async capture(): Promise<CapturedImage> {
    if (!this.running) throw new CameraError('NOT_STARTED', 'camera is not started')
    // Rendering takes a few hundred ms; a scene held still gives the same frame, as a still camera would.
    this.frame ??= renderQrFrame(this.scene.text, { seed: this.captures + 1, ...this.scene.opts })
    this.captures++
    return { bytes: this.frame, mime: 'image/png' }
  }
}
