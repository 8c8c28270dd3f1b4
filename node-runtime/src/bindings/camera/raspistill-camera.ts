/**
 * The Raspberry Pi camera through node-raspistill. Two modes:
 * - 'warm' (what the box uses): one long-running `raspistill -tl MS -t 0 -o -` (node-raspistill's timelapse with
 *   `noFileSave`); the camera stays open and streams a JPEG every interval, and `capture()` returns the next
 *   frame to arrive. Starting the camera costs about a second on a Pi; warm mode pays it once.
 * - 'still': one `raspistill` run per frame, picked up from a private temporary directory and deleted once read.
 * The program run as `raspistill` is found by `findCameraProgram` (legacy raspistill or the rpicam-still
 * compatibility program).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ICameraOptions } from 'node-raspistill'
import { type Camera, CameraError, type CapturedImage, sniffImageMime } from './camera.js'
import { findCameraProgram } from './camera-program.js'
import { JpegStreamSplitter } from './jpeg-stream.js'

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
  /** Where frames are written in 'still' mode; default a fresh directory under the OS temp dir. */
  outputDir?: string
  /** 'warm' keeps the camera streaming (timelapse to stdout, JPEG only); 'still' runs it per frame. Default 'still'. */
  mode?: 'warm' | 'still'
  /** Warm mode: ms between frames (default 100, i.e. 10 frames/s offered to the decoder). */
  intervalMs?: number
  /** Program run as `raspistill`; default found by `findCameraProgram`. */
  command?: string
}

interface RaspistillLike {
  takePhoto(fileName?: string): Promise<Buffer>
  timelapse(intervalMs: number, execTimeMs: number, cb: (image: Buffer) => void): Promise<void>
  stop(): void
}

type Waiter = { resolve: (img: CapturedImage) => void; reject: (err: unknown) => void }

/** The real camera binding. */
export class RaspistillCamera implements Camera {
  private cam: RaspistillLike | null = null
  private dir: string | null = null
  private ownsDir = false
  private chain: Promise<unknown> = Promise.resolve()
  private seq = 0
  private command = ''
  /** Warm mode: the streaming run, its frame splitter and captures waiting for the next frame. */
  private stream: Promise<void> | null = null
  private waiters: Waiter[] = []

  constructor(private readonly options: RaspistillCameraOptions = {}) {}

  async start(): Promise<void> {
    if (this.cam) return
    // Loaded here rather than at import, so a node without a camera never pays for it.
    const { Raspistill } = await import('node-raspistill')
    this.command = findCameraProgram(this.options.command)
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
    if (o.mode === 'warm') {
      camOptions.encoding = 'jpg'
      camOptions.noFileSave = true
    }
    const cam = new Raspistill(camOptions)
    // node-raspistill 2.x hard-codes the program name in its executor; point it at the program found above.
    ;(cam as unknown as { _executor: { _command: string } })._executor._command = this.command
    this.cam = cam as unknown as RaspistillLike
    if (o.mode === 'warm') this.startStream()
  }

  /** Launches the streaming run; frames go to waiting captures. A run that ends fails them; the next capture restarts it. */
  private startStream(): void {
    const cam = this.cam
    if (!cam) return
    const splitter = new JpegStreamSplitter()
    const onChunk = (chunk: Buffer) => {
      for (const frame of splitter.push(chunk)) {
        const waiters = this.waiters
        this.waiters = []
        for (const w of waiters) w.resolve({ bytes: frame, mime: 'image/jpeg' })
      }
    }
    const ended = (err: unknown) => {
      if (this.cam !== cam) return // stopped: stop() fails the waiters
      this.stream = null
      const waiters = this.waiters
      this.waiters = []
      for (const w of waiters)
        w.reject(new CameraError('CAPTURE_FAILED', `${this.command} stopped streaming`, { cause: err }))
    }
    this.stream = cam.timelapse(this.options.intervalMs ?? 100, 0, onChunk).then(
      () => ended(null),
      (err) => ended(err),
    )
  }

  async stop(): Promise<void> {
    const cam = this.cam
    if (!cam) return
    this.cam = null
    cam.stop()
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(new CameraError('NOT_STARTED', 'camera stopped'))
    await this.stream?.catch(() => {})
    this.stream = null
    await this.chain.catch(() => {})
    if (this.ownsDir && this.dir) await rm(this.dir, { recursive: true, force: true })
    this.dir = null
  }

  capture(): Promise<CapturedImage> {
    if (this.options.mode === 'warm') return this.nextFrame()
    const run = () => this.captureOnce()
    const result = this.chain.then(run, run)
    this.chain = result.catch(() => {})
    return result
  }

  /** Warm mode: the next frame the stream delivers (never one decoded already). */
  private async nextFrame(): Promise<CapturedImage> {
    if (!this.cam) throw new CameraError('NOT_STARTED', 'camera is not started')
    if (!this.stream) this.startStream()
    const timeoutMs = this.options.captureTimeoutMs ?? 10_000
    let timer: ReturnType<typeof setTimeout> | undefined
    const frame = new Promise<CapturedImage>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject }
      this.waiters.push(waiter)
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new CameraError('CAPTURE_TIMEOUT', `no frame in ${timeoutMs} ms`))
      }, timeoutMs)
    })
    try {
      return await frame
    } finally {
      clearTimeout(timer)
    }
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
