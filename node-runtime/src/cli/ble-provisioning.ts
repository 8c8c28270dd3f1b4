/**
 * Receiving the provisioning bundle over BLE (`opg-node receive-provisioning --ble`, protocol/SPEC.md §12).
 * While the box has no bundle it offers the provisioning GATT service, advertised as `OPGS <setup id>`; a
 * technician who knows the setup code printed on the box's label proves it, the box proves it back, and the
 * bundle arrives sealed under a key only the two of them hold. The box then writes the files 0600 (manifest
 * last), deletes its setup code (the code is one-time) and stops the service, so it disappears from the air.
 *
 * Wrong proofs are counted in a file beside the bundle before the answer goes out, so pulling the plug does
 * not buy more guesses: each one doubles the wait before the next attempt, and `maxFailures` of them lock the
 * service for `lockMs` after the last (the file's time says when that was, so a restart does not shorten
 * either wait). The lock is not for good: the code has 80 bits, so no rate of online guessing comes near it,
 * and a permanent lock only let anyone in radio range stop a box from being provisioned until someone came
 * with its SD card.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  BLE_PROVISION_NAME_PREFIX,
  BLE_PROVISION_UUIDS,
  checkSetupId,
  decodeProvisionMessage,
  encodeProvisionMessage,
  normalizeSetupCode,
  openProvisionBundle,
  type ProvisionMessage,
  type ProvisionRefusal,
  proofMatches,
  provisionEphemeral,
  provisionKeys,
} from '@opg/protocol'
import type { BleBinding, BleBindingOptions, BleSession } from '../bindings/ble/index.js'
import { bundleProblem, writeReceived } from './provisioning-transfer.js'

/** Name of the setup code file written at image time (JSON `{ setupId, code }`), in the bundle folder. */
export const SETUP_CODE_FILE = 'setup-code.json'
/** Name of the wrong-proof counter, in the bundle folder. */
export const FAILURES_FILE = 'ble-setup-failures'
/** The largest sealed bundle accepted (the serial transfer's 1 MiB, base64 in JSON, plus room). */
const MAX_SEALED = 1536 * 1024

/** Options of receiveOverBle. */
export interface BleReceiveOptions {
  /** Where the bundle goes; also holds setup-code.json and the failure counter. */
  dir: string
  /** Makes the binding (bleno in production) from the options this module sets. */
  binding: (options: BleBindingOptions) => BleBinding
  /** Wrong proofs before the service locks (default 10). */
  maxFailures?: number
  /** How long the service stays locked after the last wrong proof, once there were maxFailures (default 1 h). */
  lockMs?: number
  /** Wait after the n-th wrong proof before the next attempt (default 2 s × 2^(n−1), at most 5 min). */
  failureDelayMs?: (failures: number) => number
  /** How long to wait for each of the technician's messages (default 30 s). */
  replyTimeoutMs?: number
  /**
   * Stop offering the service when no bundle is installed within this long (default: never). A session under
   * way at that moment may finish (each of its messages is still bounded by `replyTimeoutMs`); no new one starts.
   */
  timeoutMs?: number
  stdout: (line: string) => void
  onError?: (err: unknown) => void
  now?: () => number
  /** Resolves when the process is asked to stop. */
  stopSignal?: Promise<void>
}

/** Thrown when the box cannot offer the service (no setup code, already provisioned). */
export class BleProvisioningError extends Error {
  override readonly name = 'BleProvisioningError'
  constructor(
    readonly code: 'no_setup_code' | 'already_provisioned' | 'stopped' | 'timeout',
    message: string,
  ) {
    super(message)
  }
}

const defaultDelay = (n: number) => Math.min(300_000, 2000 * 2 ** (n - 1))

/** Serve the provisioning service until a bundle is installed; resolves with the file names written. */
export async function receiveOverBle(o: BleReceiveOptions): Promise<string[]> {
  const setup = await readSetupCode(o.dir)
  const maxFailures = o.maxFailures ?? 10
  const now = o.now ?? Date.now
  const counterPath = join(o.dir, FAILURES_FILE)
  const lockMs = o.lockMs ?? 3_600_000
  const delay = (n: number) => (o.failureDelayMs ?? defaultDelay)(n)
  const last = await readFailures(counterPath, maxFailures, now())
  let failures = last.count
  // Waits resume from the last wrong proof's time on disk, never longer than a whole wait from now (a clock
  // set back at boot) and never shorter than what is left of it.
  const resume = (waitMs: number) => now() + Math.min(waitMs, Math.max(0, last.at + waitMs - now()))
  let notBefore = failures > 0 ? resume(delay(failures)) : 0
  let lockedUntil = failures >= maxFailures ? resume(lockMs) : 0
  let busy = false
  let installed: (names: string[]) => void = () => {}
  let expire: () => void = () => {}
  const done = new Promise<string[]>((resolve, reject) => {
    installed = resolve
    expire = () =>
      reject(new BleProvisioningError('timeout', `no bundle arrived within ${(o.timeoutMs ?? 0) / 1000} s`))
  })
  // Set when the time is up; the promise is settled then, or when a session under way ends without a bundle.
  let expired = false
  // Settled late (a stop first, then the session under way at the deadline ends): not an unhandled rejection.
  done.catch(() => undefined)

  const left = () => Math.min(255, Math.max(0, maxFailures - failures))
  const send = (s: BleSession, m: ProvisionMessage) => s.send(encodeProvisionMessage(m))
  const refuse = async (s: BleSession, reason: ProvisionRefusal) => {
    // The technician may be gone already (link dropped); the refusal is then only for the record.
    await send(s, { type: 'refused', reason, attemptsLeft: left() }).catch(() => undefined)
    await s.close().catch(() => undefined)
  }
  const receive = async (s: BleSession): Promise<ProvisionMessage | undefined> => {
    try {
      return decodeProvisionMessage(await s.receive(o.replyTimeoutMs ?? 30_000))
    } catch {
      return undefined
    }
  }

  const handle = async (s: BleSession): Promise<void> => {
    const hello = await receive(s)
    if (hello?.type !== 'hello') return refuse(s, 'badMessage')
    if (failures >= maxFailures && now() < lockedUntil) return refuse(s, 'locked')
    if (busy || expired || now() < notBefore) return refuse(s, 'wait')
    busy = true
    try {
      const eph = provisionEphemeral()
      await send(s, { type: 'challenge', publicKey: eph.publicKey, attemptsLeft: left() })
      const proof = await receive(s)
      if (proof?.type !== 'proof') return refuse(s, 'badMessage')
      const keys = provisionKeys(
        setup.code,
        setup.setupId,
        eph,
        hello.publicKey,
        hello.publicKey,
        eph.publicKey,
      )
      if (!proofMatches(keys.techProof, proof.tag)) {
        failures++
        // Counted on disk before the technician hears the answer: a power cut cannot give a free guess.
        await writeFile(counterPath, `${failures}\n`, { mode: 0o600 })
        notBefore = now() + delay(failures)
        o.stdout(`wrong setup code from ${s.peer} (${failures} of ${maxFailures})`)
        if (failures < maxFailures) return refuse(s, 'wrongCode')
        lockedUntil = now() + lockMs
        o.stdout(`BLE provisioning locked for ${Math.round(lockMs / 60_000)} min`)
        return refuse(s, 'locked')
      }
      await send(s, { type: 'accept', tag: keys.boxProof })
      const bundle = await receive(s)
      if (bundle?.type !== 'bundle' || bundle.sealed.length > MAX_SEALED) return refuse(s, 'badMessage')
      const files = parseBundle(openProvisionBundleSafe(keys, bundle.sealed))
      const problem = files ? bundleProblem(files) : 'not a bundle'
      if (!files || problem) {
        o.stdout(`bundle refused: ${problem}`)
        return refuse(s, 'badBundle')
      }
      await writeReceived(o.dir, files)
      await rm(join(o.dir, SETUP_CODE_FILE), { force: true })
      await rm(counterPath, { force: true })
      await send(s, { type: 'installed' })
      await s.close()
      o.stdout(`received ${[...files.keys()].join(', ')} into ${o.dir} over BLE`)
      installed([...files.keys()])
    } finally {
      busy = false
      if (expired) expire()
    }
  }

  const binding = o.binding({
    deviceTag: setup.setupId,
    profile: { uuids: BLE_PROVISION_UUIDS, namePrefix: BLE_PROVISION_NAME_PREFIX },
    maxMessageSize: MAX_SEALED + 64,
    onError: (err) => o.onError?.(err),
  })
  await binding.start(handle)
  o.stdout(`offering BLE provisioning as ${BLE_PROVISION_NAME_PREFIX} ${setup.setupId}`)
  const timer =
    o.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          expired = true
          if (!busy) expire()
        }, o.timeoutMs)
  try {
    const stopped = o.stopSignal?.then(() => {
      throw new BleProvisioningError('stopped', 'stopped before a bundle arrived')
    })
    return await (stopped ? Promise.race([done, stopped]) : done)
  } finally {
    clearTimeout(timer)
    await binding.stop()
  }
}

function openProvisionBundleSafe(keys: ReturnType<typeof provisionKeys>, sealed: Uint8Array) {
  try {
    return openProvisionBundle(keys, sealed)
  } catch {
    return undefined
  }
}

/** The bundle's plaintext: `{"files":{"<name>":"<base64>",…}}`, manifest.json among them. */
function parseBundle(plain: Uint8Array | undefined): Map<string, Uint8Array> | undefined {
  if (!plain) return undefined
  try {
    const parsed = JSON.parse(Buffer.from(plain).toString('utf8')) as { files?: Record<string, unknown> }
    if (!parsed.files || typeof parsed.files !== 'object') return undefined
    const files = new Map<string, Uint8Array>()
    for (const [name, b64] of Object.entries(parsed.files)) {
      if (typeof b64 !== 'string') return undefined
      files.set(name, new Uint8Array(Buffer.from(b64, 'base64')))
    }
    return files
  } catch {
    return undefined
  }
}

async function readSetupCode(dir: string): Promise<{ setupId: string; code: string }> {
  if (
    await readFile(join(dir, 'manifest.json')).then(
      () => true,
      () => false,
    )
  )
    throw new BleProvisioningError('already_provisioned', `${dir} already holds a bundle`)
  let raw: { setupId?: unknown; code?: unknown }
  try {
    raw = JSON.parse(await readFile(join(dir, SETUP_CODE_FILE), 'utf8'))
  } catch {
    throw new BleProvisioningError('no_setup_code', `no readable ${SETUP_CODE_FILE} in ${dir}`)
  }
  try {
    return { setupId: checkSetupId(String(raw.setupId)), code: normalizeSetupCode(String(raw.code)) }
  } catch {
    throw new BleProvisioningError('no_setup_code', `${SETUP_CODE_FILE} in ${dir} is malformed`)
  }
}

/**
 * The wrong proofs counted so far and when the last was (the file's modification time). An unreadable count
 * is treated as the limit, its time as now: locked rather than reset (fail closed).
 */
async function readFailures(
  path: string,
  limit: number,
  nowMs: number,
): Promise<{ count: number; at: number }> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)])
    const n = Number(text.trim())
    return Number.isInteger(n) && n >= 0 ? { count: n, at: st.mtimeMs } : { count: limit, at: nowMs }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { count: 0, at: 0 }
    return { count: limit, at: nowMs }
  }
}
