/**
 * The Raspberry Pi camera through node-raspistill, which runs the `raspistill` program for each still and picks
 * the file up from its output directory. Each camera instance owns a private temporary directory; frames are
 * deleted once read, so a box scanning all day does not fill its SD card.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ICameraOptions } from 'node-raspistill'
import { type Camera, CameraError, type CapturedImage, sniffImageMime } from './camera.js'

/** Options of `RaspistillCamera`. */
export interface RaspistillCameraOptions {
  width?: number
  height?: number
  /** File format raspistill writes; PNG avoids JPEG artefacts on dense codes but is slower. Default 'jpg'. */
  encoding?: 'jpg' | 'png'
  /** raspistill `-t`: ms before the shot, for exposure to settle (default 200). */
  timeMs?: number
  /** JPEG quality 0..100 (default 90). */
  quality?: number
  rotation?: 0 | 90 | 180 | 270
  horizontalFlip?: boolean
  verticalFlip?: boolean
  /** Give up on a capture after this long (default 10 s); the raspistill process is killed. */
  captureTimeoutMs?: number
  /** Where frames are written; default a fresh directory under the OS temp dir. */
  outputDir?: string
}

interface RaspistillLike {
  takePhoto(fileName?: string): Promise<Buffer>
  stop(): void
}

/** The real camera binding. */
export class RaspistillCamera implements Camera {
  private cam: RaspistillLike | null = null
  private dir: string | null = null
  private ownsDir = false
  private chain: Promise<unknown> = Promise.resolve()
  private seq = 0

  constructor(private readonly options: RaspistillCameraOptions = {}) {}

  async start(): Promise<void> {
    if (this.cam) return
    // Loaded here rather than at import, so a node without a camera never pays for it.
    const { Raspistill } = await import('node-raspistill')
    this.ownsDir = this.options.outputDir === undefined
    this.dir = this.options.outputDir ?? (await mkdtemp(join(tmpdir(), 'opg-camera-')))
    const o = this.options
    const camOptions: ICameraOptions = {
      outputDir: this.dir,
      encoding: o.encoding ?? 'jpg',
      width: o.width ?? 1280,
      height: o.height ?? 720,
      time: o.timeMs ?? 200,
      quality: o.quality ?? 90,
      noPreview: true,
      horizontalFlip: o.horizontalFlip ?? false,
      verticalFlip: o.verticalFlip ?? false,
    }
    if (o.rotation) camOptions.rotation = o.rotation
    this.cam = new Raspistill(camOptions)
  }

  async stop(): Promise<void> {
    const cam = this.cam
    if (!cam) return
    this.cam = null
    cam.stop()
    await this.chain.catch(() => {})
    if (this.ownsDir && this.dir) await rm(this.dir, { recursive: true, force: true })
    this.dir = null
  }

  capture(): Promise<CapturedImage> {
    const run = () => this.captureOnce()
    const result = this.chain.then(run, run)
    this.chain = result.catch(() => {})
    return result
  }

  private async captureOnce(): Promise<CapturedImage> {
    const cam = this.cam
    const dir = this.dir
    if (!cam || !dir) throw new CameraError('NOT_STARTED', 'camera is not started')
    // node-raspistill splits the name at the first dot, so the name has none.
    const name = `frame-${process.pid}-${++this.seq}`
    const encoding = this.options.encoding ?? 'jpg'
    const timeoutMs = this.options.captureTimeoutMs ?? 10_000
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CameraError('CAPTURE_TIMEOUT', `no frame in ${timeoutMs} ms`)),
          timeoutMs,
        )
      })
      const bytes = await Promise.race([cam.takePhoto(name), timeout])
      if (!bytes || bytes.length === 0)
        throw new CameraError('CAPTURE_FAILED', 'raspistill wrote an empty file')
      const mime = sniffImageMime(bytes)
      if (!mime) throw new CameraError('UNKNOWN_FORMAT', 'frame is neither PNG nor JPEG')
      return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), mime }
    } catch (err) {
      // node-raspistill leaves its directory watcher (20 s timer) and the child running after a failure.
      cam.stop()
      if (err instanceof CameraError) throw err
      throw new CameraError('CAPTURE_FAILED', 'raspistill capture failed', { cause: err })
    } finally {
      clearTimeout(timer)
      await rm(join(dir, `${name}.${encoding}`), { force: true })
    }
  }
}
