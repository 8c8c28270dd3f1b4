/**
 * A BLE payment world for the end-to-end tests and the benchmark: a virtual radio, the real box (bleno +
 * acceptance + file journal) in one child, the real wallet (noble + wallet core) in another, an issuer that
 * certified both, and the box's journal directory so the test can reopen it after the box is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as P from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import {
  type PeerProcess,
  spawnPeer,
  VirtualRadio,
  type VirtualRadioOptions,
} from '@opg/testkit/virtual-hci/index.js'
import type { BoxStartArgs } from './box-peer.js'

export const BOX_FILE = resolve(dirname(fileURLToPath(import.meta.url)), 'box-peer.ts')
export const WALLET_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../wallet-sdk/test/ble-payment.test.ts',
)

/** What the wallet child reports for a payment or a retry (see wallet-sdk/test/ble-payment.test.ts). */
export interface PayResult {
  txId?: string
  status?: string
  receipt?: Uint8Array
  error?: { name: string; code?: string; remoteCode?: string; causeCode?: string }
}

export interface PaymentRig {
  radio: VirtualRadio
  box: PeerProcess
  wallet: PeerProcess
  tag: string
  sticker: string
  /** The box's Ed25519 public key (what receipts must verify against). */
  nodeKey: Uint8Array
  vaultDir: string
  vaultKey: Uint8Array
  /** Stop both children and the radio, remove the journal. */
  close(): Promise<void>
}

let nextBox = 1

/** Start a radio, a real box advertising its device tag, and a wallet holding a 100.00 EUR purse. */
export async function startRig(
  radioOptions: VirtualRadioOptions,
  boxOptions: { maxMessageSize?: number } = {},
) {
  const radio = new VirtualRadio(radioOptions)
  await radio.start()
  const n = nextBox++
  const deviceId = `b1e${process.pid.toString(16).padStart(5, '0').slice(-5)}${n.toString(16).padStart(8, '0')}`
  const address = `b0:0c:00:00:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`
  const box = spawnPeer({ file: BOX_FILE, role: 'box', radioPath: radio.path, address })
  const wallet = spawnPeer({ file: WALLET_FILE, role: 'wallet', radioPath: radio.path })
  const vaultDir = mkdtempSync(join(tmpdir(), 'opg-ble-vault-'))
  const close = async () => {
    await Promise.all([box.stop(), wallet.stop()])
    await radio.stop()
    rmSync(vaultDir, { recursive: true, force: true })
  }
  try {
    const nowS = Math.floor(Date.now() / 1000)
    const issuer = P.generateSigningKeyPair(c)
    const signing = P.generateSigningKeyPair(c)
    const encryption = P.generateEncryptionKeyPair(c)
    const cert = P.issueNodeCertificate(c, issuer, {
      tenantId: '0000000000000001',
      merchantId: '00000000000000aa',
      deviceId,
      signingKey: signing.publicKey,
      encryptionKey: encryption.publicKey,
      issuedAt: nowS - 3600,
      expiresAt: nowS + 86_400,
    })
    const tag = P.deviceTag(deviceId)
    const vaultKey = c.randomBytes(16)
    const start: BoxStartArgs = {
      mode: 'real',
      tag,
      issuerPublic: issuer.publicKey,
      certBytes: cert.bytes,
      signingSecret: signing.secretKey,
      encryptionSecret: encryption.secretKey,
      encryptionPublic: encryption.publicKey,
      merchantId: cert.merchantId,
      deviceId,
      vaultDir,
      vaultKey,
      ...boxOptions,
    }
    await box.call('start', start)
    const { publicKey } = await wallet.call<{ publicKey: Uint8Array }>('init', {
      issuerPublic: issuer.publicKey,
    })
    const purse = P.issueWalletCertificate(c, issuer, {
      walletId: '0000000000000c01',
      publicKey,
      perPaymentLimit: 5000,
      purseAmount: 10_000,
      currency: 'EUR',
      counterBase: 0,
      issuedAt: nowS - 60,
      expiresAt: nowS + 86_400,
    })
    await wallet.call('installPurse', { cert: purse.bytes })
    await radio.waitFor((cs) => cs.some((x) => x.advertising && x.localName === `OPG ${tag}`))
    const sticker = P.encodeSticker({ nodeCert: cert, merchantName: 'Corner Cafe' })
    const rig: PaymentRig = {
      radio,
      box,
      wallet,
      tag,
      sticker,
      nodeKey: signing.publicKey,
      vaultDir,
      vaultKey,
      close,
    }
    return rig
  } catch (err) {
    await close()
    throw err
  }
}
