/**
 * `opg-provision push --ble`: send a bundle to an unprovisioned box over BLE (protocol/SPEC.md §12), to
 * `opg-node receive-provisioning --ble` on the box. The technician types the setup id and code from the box's
 * label; the laptop proves the code, checks the box proves it back (so a box that is not the one on the label
 * never sees the bundle), and sends the bundle sealed under the attempt's key.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  BLE_PROVISION_NAME_PREFIX,
  BLE_PROVISION_UUIDS,
  checkSetupId,
  decodeProvisionMessage,
  encodeProvisionMessage,
  normalizeSetupCode,
  type ProvisionMessage,
  proofMatches,
  provisionEphemeral,
  provisionKeys,
  sealProvisionBundle,
} from '@opg/protocol'
import { BUNDLE_FILES, readBundle } from './bundle.js'
import { ProvisionError } from './errors.js'

/** The part of a GATT session this needs (wallet-sdk's NobleGattClient sessions are one). */
export interface SetupSession {
  send(message: Uint8Array): Promise<void>
  receive(timeoutMs?: number): Promise<Uint8Array>
  close(): Promise<void>
}

/** Opens a session with the box advertising `OPGS <setupId>`. */
export type SetupConnect = (setupId: string) => Promise<SetupSession>

/** The GATT profile to give the BLE client (NobleGattClient's `profile` option). */
export const SETUP_PROFILE = { uuids: BLE_PROVISION_UUIDS, namePrefix: BLE_PROVISION_NAME_PREFIX } as const

/** Send the bundle in `dir` to the box `setupId` that knows `code`; resolves once the box has installed it. */
export async function pushOverBle(
  connect: SetupConnect,
  o: { setupId: string; code: string; dir: string; replyTimeoutMs?: number },
): Promise<{ files: string[] }> {
  let setupId: string
  let code: string
  try {
    setupId = checkSetupId(o.setupId.toUpperCase())
    code = normalizeSetupCode(o.code)
  } catch (cause) {
    throw new ProvisionError('wrong_code', 'the setup id is 8 characters and the code 16, as on the label', {
      cause,
    })
  }
  const { files } = await readBundle(o.dir)
  files.set(BUNDLE_FILES.manifest, new Uint8Array(await readFile(join(o.dir, BUNDLE_FILES.manifest))))
  const plain = Buffer.from(
    JSON.stringify({
      files: Object.fromEntries([...files].map(([n, b]) => [n, Buffer.from(b).toString('base64')])),
    }),
  )
  const session = await connect(setupId).catch((cause: unknown) => {
    throw new ProvisionError(
      'transfer_failed',
      `no box advertising ${BLE_PROVISION_NAME_PREFIX} ${setupId}`,
      {
        cause,
      },
    )
  })
  const timeout = o.replyTimeoutMs ?? 30_000
  const next = async (): Promise<ProvisionMessage> => {
    let m: ProvisionMessage
    try {
      m = decodeProvisionMessage(await session.receive(timeout))
    } catch (cause) {
      throw new ProvisionError('transfer_failed', 'the box stopped answering', { cause })
    }
    if (m.type === 'refused') {
      if (m.reason === 'wrongCode')
        throw new ProvisionError('wrong_code', `the box refused the code (${m.attemptsLeft} attempts left)`)
      if (m.reason === 'locked')
        throw new ProvisionError(
          'box_locked',
          'the box is locked after too many wrong codes: it takes one attempt again an hour after the last (see README)',
        )
      if (m.reason === 'wait')
        throw new ProvisionError(
          'transfer_failed',
          'the box is busy or waiting after a wrong code; try again',
        )
      throw new ProvisionError('transfer_failed', `the box refused: ${m.reason}`)
    }
    return m
  }
  try {
    const eph = provisionEphemeral()
    await session.send(encodeProvisionMessage({ type: 'hello', publicKey: eph.publicKey }))
    const challenge = await next()
    if (challenge.type !== 'challenge') throw new ProvisionError('transfer_failed', 'unexpected answer')
    const keys = provisionKeys(code, setupId, eph, challenge.publicKey, eph.publicKey, challenge.publicKey)
    await session.send(encodeProvisionMessage({ type: 'proof', tag: keys.techProof }))
    const accept = await next()
    if (accept.type !== 'accept' || !proofMatches(keys.boxProof, accept.tag))
      throw new ProvisionError(
        'box_unauthenticated',
        'the box did not prove the code: not the box on the label',
      )
    await session.send(encodeProvisionMessage({ type: 'bundle', sealed: sealProvisionBundle(keys, plain) }))
    const done = await next()
    if (done.type !== 'installed') throw new ProvisionError('transfer_failed', 'unexpected answer')
    return { files: [...files.keys()] }
  } finally {
    await session.close().catch(() => undefined)
  }
}

/** Push over the machine's Bluetooth adapter with noble (the wallet SDK's GATT client, on the setup profile). */
export async function pushOverBleAdapter(setupId: string, code: string, dir: string): Promise<void> {
  // The GATT client lives with the wallet; it is not on the wallet SDK's package surface.
  const { NobleGattClient } = await import('../../wallet-sdk/src/node/ble/index.js')
  const client = new NobleGattClient({ profile: SETUP_PROFILE })
  await client.start()
  try {
    await pushOverBle((id) => client.connect(id, { timeoutMs: 30_000 }), { setupId, code, dir })
  } finally {
    await client.stop()
  }
}
