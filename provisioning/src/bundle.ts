/**
 * The SD-card bundle: the box's config file and its key files (device-config/README.md), every one mode 0600,
 * plus `manifest.json` listing each file with its SHA-256 so the box — or a technician — can tell a complete,
 * uncorrupted copy from a half-written card.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ProvisionError } from './errors.js'

/** Names of the files in a bundle (and on the box's boot partition). */
export const BUNDLE_FILES = {
  config: 'opg-node.json',
  deviceSecret: 'device-secret',
  signingKey: 'node-signing.key',
  encryptionKey: 'node-encryption.key',
  nodeCertificate: 'node.cert',
  manifest: 'manifest.json',
} as const

/** What the manifest says about the box, besides the files. */
export interface BundleInfo {
  tenantId: string
  merchantId: string
  deviceId: string
  merchantName: string
  label: string
  /** The box's SIM number, when it has a modem (E.164). */
  modemNumber: string | null
  createdAt: string
}

/** `manifest.json`. */
export interface Manifest extends BundleInfo {
  version: 1
  files: { name: string; size: number; sha256: string }[]
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Write the files and the manifest to `dir` (created 0700). Refuses a folder that already holds a bundle. */
export async function writeBundle(
  dir: string,
  info: BundleInfo,
  files: Record<string, Uint8Array>,
): Promise<Manifest> {
  if (existsSync(join(dir, BUNDLE_FILES.manifest))) {
    throw new ProvisionError('bundle_exists', `${dir} already holds a bundle; use an empty folder`)
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const entries: Manifest['files'] = []
  for (const [name, bytes] of Object.entries(files)) {
    await writeSecret(join(dir, name), bytes)
    entries.push({ name, size: bytes.length, sha256: sha256(bytes) })
  }
  const manifest: Manifest = { version: 1, ...info, files: entries }
  // The manifest goes last: its presence says every file before it was written.
  await writeSecret(join(dir, BUNDLE_FILES.manifest), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`))
  return manifest
}

/** Read a bundle's manifest and check every listed file against its size and SHA-256. Throws 'bundle_invalid'. */
export async function readBundle(
  dir: string,
): Promise<{ manifest: Manifest; files: Map<string, Uint8Array> }> {
  let manifest: Manifest
  try {
    manifest = JSON.parse(await readFile(join(dir, BUNDLE_FILES.manifest), 'utf8')) as Manifest
  } catch (err) {
    throw new ProvisionError('bundle_invalid', `${dir} has no readable ${BUNDLE_FILES.manifest}`, {
      cause: err,
    })
  }
  if (manifest.version !== 1 || !Array.isArray(manifest.files)) {
    throw new ProvisionError('bundle_invalid', `${dir}/${BUNDLE_FILES.manifest} is not a version 1 manifest`)
  }
  const files = new Map<string, Uint8Array>()
  const problems: string[] = []
  for (const f of manifest.files) {
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(f.name)) {
      problems.push(`bad file name ${JSON.stringify(f.name)}`)
      continue
    }
    try {
      const bytes = new Uint8Array(await readFile(join(dir, f.name)))
      if (bytes.length !== f.size || sha256(bytes) !== f.sha256) problems.push(`${f.name} does not match`)
      else files.set(f.name, bytes)
    } catch {
      problems.push(`${f.name} is missing`)
    }
  }
  if (problems.length > 0) throw new ProvisionError('bundle_invalid', problems.join('; '))
  return { manifest, files }
}

async function writeSecret(path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(path, bytes, { mode: 0o600 })
  // writeFile's mode only applies to new files, and the umask may narrow it; chmod makes it exact.
  await chmod(path, 0o600)
}
