/**
 * The opg-node command line itself, as real processes: help with descriptions and examples, version, usage
 * errors on one line (exit 2), a missing or non-image file for `scan`, and the refusal to open a new, empty
 * vault where the config names no data directory.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { renderQrFrame } from '../src/bindings/camera/index.js'
import { makeWorld, qrFor, randomId, TestWallet } from './accept/fixtures.js'
import { runOpgNode } from './sync/cli-run.js'
import { provisionBox } from './sync/provision.js'

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opg-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('scan refuses a missing file and a file that is not an image, on one line', async (t) => {
  const dir = await tempDir(t)
  const box = await provisionBox(dir, makeWorld(randomId()))
  const missing = await runOpgNode(['scan', join(dir, 'nope.png'), '--config', box.configPath])
  t.equal(missing.code, 1)
  t.equal(missing.stderr.trim(), `opg-node: error no_file: no such file: ${join(dir, 'nope.png')}`)
  const text = join(dir, 'note.txt')
  await writeFile(text, 'OPG1:not a picture\n')
  const notImage = await runOpgNode(['scan', text, '--config', box.configPath])
  t.equal(notImage.code, 1)
  t.match(notImage.stderr, /^opg-node: error not_an_image: .*note\.txt is not an image/)
})

t.test('help, version and usage errors', async (t) => {
  const help = await runOpgNode(['--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /scan <image>\s+accept a QR payment from an image file/)
  t.match(help.stdout, /Exit codes: 0 ok/)
  const sub = await runOpgNode(['sync', '--help'])
  t.match(sub.stdout, /Examples:\n\s+\$ opg-node sync --timeout 60/)
  t.match((await runOpgNode(['--version'])).stdout, /^\d+\.\d+\.\d+/)
  const usage = await runOpgNode(['scan'])
  t.equal(usage.code, 2)
  t.equal(usage.stderr.trim(), "opg-node: error usage: missing required argument 'image' (see --help)")
  t.equal((await runOpgNode(['frobnicate'])).code, 2)
})

t.test('a config that names no dataDir never gets a new empty vault', async (t) => {
  const dir = await tempDir(t)
  const world = makeWorld(randomId())
  const box = await provisionBox(dir, world)
  const raw = JSON.parse(await readFile(box.configPath, 'utf8'))
  delete raw.dataDir
  const bare = join(dir, 'no-data-dir.json')
  await writeFile(bare, JSON.stringify(raw))
  const w = new TestWallet(world)
  const image = join(dir, 'phone.png')
  await writeFile(image, renderQrFrame(qrFor(world, w.token(250))))
  const r = await runOpgNode(['scan', image, '--config', bare])
  t.equal(r.code, 78, r.stderr)
  t.match(r.stderr, /^opg-node: error no_vault: no vault in \/var\/lib\/opg .* names no dataDir/)
  t.notOk(existsSync('/var/lib/opg/vault'), 'nothing was created')
})
