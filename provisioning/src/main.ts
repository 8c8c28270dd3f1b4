/** Process entry of `opg-provision` (bin/opg-provision.js imports it): wires stdio, crypto and serial into the CLI. */
import { nodeBackend } from '@opg/protocol/node'
import { pushOverBleAdapter } from './ble-push.js'
import { runProvisionCli } from './cli.js'
import { pushOverSerial } from './serial-push.js'

process.exitCode = await runProvisionCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  c: nodeBackend,
  push: (path, dir, baud) => pushOverSerial(path, dir, baud),
  pushBle: (setupId, code, dir) => pushOverBleAdapter(setupId, code, dir),
  ...(process.stderr.isTTY ? { progressStream: process.stderr } : {}),
})
