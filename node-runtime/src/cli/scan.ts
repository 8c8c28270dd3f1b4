/** `opg-node scan IMAGE`: accept a QR payment from an image file, through the running node when there is one. */
import { open } from 'node:fs/promises'
import { action, subcommand } from '@opg/protocol/cli'
import type { Command } from 'commander'
import type { AcceptOutcome } from '../accept/acceptor.js'
import { controlRequest } from '../node/control.js'
import { type NodeCli, NodeCliError } from './context.js'
import { formatOutcome } from './format.js'

/** Image formats the decoder (zxing-wasm) reads, by their first bytes. */
const MAGIC: [string, number[]][] = [
  ['PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG', [0xff, 0xd8, 0xff]],
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['BMP', [0x42, 0x4d]],
]

/** Refuse early and clearly: a missing file, or a file that is not an image, before any decoder runs. */
export async function checkImage(path: string): Promise<void> {
  let head: Uint8Array
  try {
    const f = await open(path, 'r')
    try {
      const buf = new Uint8Array(8)
      const { bytesRead } = await f.read(buf, 0, 8, 0)
      head = buf.subarray(0, bytesRead)
    } finally {
      await f.close()
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new NodeCliError(
      'no_file',
      code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path} (${code})`,
    )
  }
  if (!MAGIC.some(([, m]) => m.every((b, i) => head[i] === b))) {
    throw new NodeCliError('not_an_image', `${path} is not an image (PNG, JPEG, GIF or BMP)`)
  }
}

export function addScanCommand(program: Command, cli: NodeCli): void {
  subcommand(
    program,
    'scan <image>',
    "accept a QR payment from an image file (a photo of the customer's screen)",
    ['opg-node scan pay.png --config /etc/opg/opg-node.json'],
  ).action(
    action(async (image: string, o: { config?: string }) => {
      const decode = cli.io.decodeImageFile
      if (!decode) throw new NodeCliError('no_decoder', 'no QR decoder available in this build')
      await checkImage(image)
      const qrText = await decode(image)
      if (!qrText) throw new NodeCliError('no_qr', `no QR code found in the image ${image}`)
      const configPath = cli.configPath(o)
      const { config, secrets } = await cli.load(configPath)
      const out = await cli.viaNodeOr(
        configPath,
        config,
        secrets,
        (path) => controlRequest<AcceptOutcome>(path, { cmd: 'accept', qrText }),
        async (opened) => opened.node.accept({ qrText }),
      )
      cli.output.out(formatOutcome(out))
      return out.ok ? 0 : 1
    }),
  )
}
