/**
 * Which program takes the pictures. node-raspistill runs `raspistill`; Raspberry Pi OS bookworm has none, only
 * `rpicam-still` (`libcamera-still` on bullseye). The image installs the compatibility program
 * `device-config/raspistill` as /usr/local/bin/raspistill; where it is not installed but rpicam-still is, the
 * copy shipped beside this package is used.
 */
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CameraError } from './camera.js'

/** The compatibility program in the source tree (device-config/raspistill). */
export const RASPISTILL_COMPAT = fileURLToPath(
  new URL('../../../../device-config/raspistill', import.meta.url),
)

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** First `name` on PATH, or null. */
export function whichSync(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name)
  }
  return null
}

/**
 * The program to run as `raspistill`: `explicit` when given, else `raspistill` on PATH (legacy or the installed
 * compatibility program), else the shipped compatibility program when rpicam-still or libcamera-still is on
 * PATH. Throws CameraError('NO_CAMERA_PROGRAM') when there is no camera program at all.
 */
export function findCameraProgram(explicit?: string): string {
  if (explicit) return explicit
  const raspistill = whichSync('raspistill')
  if (raspistill) return raspistill
  if ((whichSync('rpicam-still') || whichSync('libcamera-still')) && executable(RASPISTILL_COMPAT))
    return RASPISTILL_COMPAT
  throw new CameraError(
    'NO_CAMERA_PROGRAM',
    'no camera program: install rpicam-apps (rpicam-still) or raspistill',
  )
}
