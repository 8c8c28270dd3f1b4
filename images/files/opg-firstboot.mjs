#!/usr/bin/env node
import { execFileSync } from 'node:child_process'
// First boot: install the provisioning bundle that `opg-provision enrol` wrote and the technician copied to
// opg/ on the boot (FAT) partition. Every file is checked against manifest.json (size and SHA-256) before
// anything is installed; the keys go to /etc/opg/keys (0700, files 0600, owner opg), the config to
// /etc/opg/opg-node.json with its key paths pointed there, and only once all of that is on disk (fsync'ed)
// are the files removed from the FAT partition, which has no per-file modes. A bundle that does not check
// out is left where it is and nothing is installed: the box stays unprovisioned and says why on the console.
// Plain Node, no dependencies: it runs before, and independently of, the runtime.
import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import { basename, join } from 'node:path'

const src = process.argv[2] ?? '/boot/firmware/opg'
const ETC = process.env.OPG_FIRSTBOOT_ETC ?? '/etc/opg'
const KEYS = join(ETC, 'keys')
const say = (m) => console.log(`opg-firstboot: ${m}`)

function fail(m) {
  console.error(`opg-firstboot: bundle not installed: ${m}`)
  process.exit(1)
}

function idOf(name, flag) {
  return Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim())
}

function writeDurable(path, bytes, uid, gid) {
  const tmp = `${path}.tmp`
  const fd = fs.openSync(tmp, 'w', 0o600)
  try {
    fs.writeSync(fd, bytes)
    fs.fchownSync(fd, uid, gid)
    fs.fchmodSync(fd, 0o600)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, path)
}

function fsyncDir(dir) {
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

let manifest
try {
  manifest = JSON.parse(fs.readFileSync(join(src, 'manifest.json'), 'utf8'))
} catch (e) {
  fail(`${src}/manifest.json is not readable JSON (${e.message})`)
}
if (manifest.version !== 1 || !Array.isArray(manifest.files))
  fail('manifest.json is not a version 1 manifest')

const files = new Map()
const problems = []
for (const f of manifest.files) {
  if (typeof f.name !== 'string' || !/^[a-z0-9][a-z0-9.-]*$/.test(f.name)) {
    problems.push(`bad file name ${JSON.stringify(f.name)}`)
    continue
  }
  let bytes
  try {
    bytes = fs.readFileSync(join(src, f.name))
  } catch {
    problems.push(`${f.name} is missing`)
    continue
  }
  const sum = createHash('sha256').update(bytes).digest('hex')
  if (bytes.length !== f.size || sum !== f.sha256) problems.push(`${f.name} does not match the manifest`)
  else files.set(f.name, bytes)
}
if (problems.length > 0) fail(problems.join('; '))
if (!files.has('opg-node.json')) fail('the bundle has no opg-node.json')

let config
try {
  config = JSON.parse(files.get('opg-node.json').toString('utf8'))
} catch (e) {
  fail(`opg-node.json is not JSON (${e.message})`)
}
const keyFields = ['deviceSecretFile', 'signingKeyFile', 'encryptionKeyFile', 'nodeCertificateFile']
const keyNames = new Map()
for (const k of keyFields) {
  const p = config.keys?.[k]
  if (typeof p !== 'string') fail(`opg-node.json has no keys.${k}`)
  const name = basename(p)
  if (!files.has(name)) fail(`keys.${k} names ${name}, which the bundle does not carry`)
  keyNames.set(k, name)
}

const user = process.env.OPG_FIRSTBOOT_USER ?? 'opg'
const uid = idOf(user, '-u')
const gid = idOf(user, '-g')
fs.mkdirSync(KEYS, { recursive: true, mode: 0o700 })
fs.chownSync(KEYS, uid, gid)
fs.chmodSync(KEYS, 0o700)
for (const [k, name] of keyNames) {
  writeDurable(join(KEYS, name), files.get(name), uid, gid)
  config.keys[k] = join(KEYS, name)
}
fsyncDir(KEYS)
config.dataDir = '/var/lib/opg'
writeDurable(join(ETC, 'manifest.json'), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), uid, gid)
writeDurable(join(ETC, 'opg-node.json'), Buffer.from(`${JSON.stringify(config, null, 2)}\n`), uid, gid)
fsyncDir(ETC)
say(
  `installed box ${manifest.deviceId} (${manifest.label ?? ''}) of merchant ${manifest.merchantId} into ${ETC}`,
)

// Installed and durable: now take the secrets off the FAT partition. The manifest goes first, so a power cut
// half-way leaves no bundle that would be installed again over this one.
fs.rmSync(join(src, 'manifest.json'))
fsyncDir(src)
for (const name of fs.readdirSync(src)) fs.rmSync(join(src, name), { recursive: true, force: true })
fs.rmdirSync(src)
fsyncDir(join(src, '..'))
say(`removed the bundle from ${src}`)
