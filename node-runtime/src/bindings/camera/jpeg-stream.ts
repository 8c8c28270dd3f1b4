/**
 * Splits the camera program's stdout (`-o -` in timelapse mode: one JPEG after another, no framing) into whole
 * JPEG files. Pipe chunks do not line up with frames, so each frame is found by walking its marker segments to
 * the start of scan and then the entropy-coded data to EOI. Walking by segment length matters: an EXIF
 * thumbnail is itself a JPEG and holds an EOI of its own.
 */

/** Reassembles JPEG frames from arbitrary chunks of a byte stream. */
export class JpegStreamSplitter {
  private buf: Uint8Array = new Uint8Array(0)

  /** @param maxFrameBytes a frame growing beyond this is dropped and the stream resynchronised. */
  constructor(private readonly maxFrameBytes = 16 * 1024 * 1024) {}

  /** Adds a chunk; returns the frames it completed, oldest first. */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buf.length + chunk.length)
    joined.set(this.buf, 0)
    joined.set(chunk, this.buf.length)
    this.buf = joined
    const frames: Uint8Array[] = []
    for (;;) {
      const start = findSoi(this.buf, 0)
      if (start < 0) {
        // Keep the last two bytes: they may begin the next SOI (FF D8 FF).
        this.buf = this.buf.slice(-2)
        break
      }
      if (start > 0) this.buf = this.buf.slice(start)
      const end = frameEnd(this.buf)
      if (end === 'bad') {
        this.buf = this.buf.slice(2) // not a JPEG after all: look for the next SOI
        continue
      }
      if (end === null) {
        if (this.buf.length > this.maxFrameBytes) this.buf = this.buf.slice(2)
        else break
        continue
      }
      frames.push(this.buf.slice(0, end))
      this.buf = this.buf.slice(end)
    }
    return frames
  }
}

function findSoi(b: Uint8Array, from: number): number {
  for (let i = from; i + 2 < b.length; i++)
    if (b[i] === 0xff && b[i + 1] === 0xd8 && b[i + 2] === 0xff) return i
  return -1
}

/** Byte offset just past the EOI of the JPEG at the start of `b`; null when more bytes are needed. */
function frameEnd(b: Uint8Array): number | null | 'bad' {
  let i = 2
  for (;;) {
    if (i >= b.length) return null
    if (b[i] !== 0xff) return 'bad'
    while (i < b.length && b[i] === 0xff) i++
    if (i >= b.length) return null
    const marker = b[i]!
    i++
    if (marker === 0xd9) return i
    if (marker === 0xd8) return 'bad'
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue
    if (i + 2 > b.length) return null
    const len = (b[i]! << 8) | b[i + 1]!
    if (len < 2) return 'bad'
    i += len
    if (marker !== 0xda) continue
    // Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or RSTn inside; any other marker ends the scan.
    for (;;) {
      if (i + 1 >= b.length) return null
      if (b[i] === 0xff) {
        const next = b[i + 1]!
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) {
          i += next === 0xff ? 1 : 2
          continue
        }
        break
      }
      i++
    }
  }
}
