// `opg-provision setup-code` (image time) and the usage rules of `push --ble`, through the CLI.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { normalizeSetupCode } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import t from 'tap'
import { runProvisionCli } from '../src/cli.js'

const scratch = mkdtempSync(join(tmpdir(), 'opg-setup-code-'))
t.teardown(() => rmSync(scratch, { recursive: true, force: true }))

function cli(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  pushBle?: (id: string, code: string, dir: string) => Promise<void>,
) {
  const out: string[] = []
  const err: string[] = []
  return runProvisionCli(argv, {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    env,
    c,
    ...(pushBle ? { pushBle } : {}),
  }).then((code) => ({ code, out: out.join('\n'), err: err.join('\n') }))
}

t.test('setup-code writes a 0600 file with the label values and never overwrites one', async (t) => {
  const dir = join(scratch, 'boot', 'opg')
  const r = await cli(['setup-code', dir])
  t.equal(r.code, 0)
  const file = join(dir, 'setup-code.json')
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { setupId: string; code: string }
  t.equal(statSync(file).mode & 0o777, 0o600)
  t.match(r.out, `setup id ${saved.setupId}`)
  t.match(r.out, `code     ${saved.code}`)
  t.equal(normalizeSetupCode(saved.code).length, 16)
  const again = await cli(['setup-code', dir])
  t.equal(again.code, 1)
  t.match(again.err, /bundle_exists/)
  t.same(JSON.parse(readFileSync(file, 'utf8')), saved, 'the first code (and its label) still holds')
})

t.test('push --ble takes the code from --code or OPG_SETUP_CODE; exactly one transport', async (t) => {
  const calls: string[][] = []
  const pushBle = async (id: string, code: string, dir: string) => {
    calls.push([id, code, dir])
  }
  t.equal((await cli(['push', 'b', '--ble', 'K7Q2M9XA'], {}, pushBle)).code, 2, 'no code: usage')
  t.equal((await cli(['push', 'b', '--ble', 'K7Q2M9XA', '--serial', '/dev/x'], {}, pushBle)).code, 2)
  t.equal((await cli(['push', 'b'], {}, pushBle)).code, 2, 'no transport: usage')
  const r = await cli(['push', 'b', '--ble', 'K7Q2M9XA'], { OPG_SETUP_CODE: '7KQ2-M9XA-P3RT-V8WZ' }, pushBle)
  t.equal(r.code, 0)
  t.same(calls, [['K7Q2M9XA', '7KQ2-M9XA-P3RT-V8WZ', 'b']])
})
