/**
 * Process entry of `opg-node` (bin/opg-node.js imports it): wires stdout/stderr, SIGINT/SIGTERM and the
 * camera binding's image decoder into runCli, and sets the exit code.
 */
import { decodeImageFile } from '../bindings/camera/index.js'
import { runCli } from './main.js'

let onStop: () => void = () => {}
const stopSignal = new Promise<void>((resolve) => {
  onStop = resolve
})
process.once('SIGINT', onStop)
process.once('SIGTERM', onStop)

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  stopSignal,
  decodeImageFile: async (path) => (await decodeImageFile(path)) ?? undefined,
  ...(process.stderr.isTTY ? { progressStream: process.stderr } : {}),
})
process.off('SIGINT', onStop)
process.off('SIGTERM', onStop)
