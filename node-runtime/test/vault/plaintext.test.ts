/**
 * Nothing readable on flash: payments with recognisable wallet ids, amounts and tokens, and state with a
 * recognisable revocation, are written to real files; no file of the data directory contains any of them,
 * raw or hex-encoded.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FileVault, openStateStore } from '../../src/vault/index.js'
import { KEY, notice, payment, STATE_KEY } from './fixtures.js'

t.test('no payment detail can be found in any file of the data directory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-plain-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const walletId = 'deadbeefcafef00d'
  const token = Buffer.from('TOKEN-SIGNED-BY-WALLET-0123456789-'.repeat(8))
  const receipt = Buffer.from('RECEIPT-FROM-THE-MERCHANT-BOX-'.repeat(4))
  const amount = 987_654_321
  const v = await FileVault.open({ dir: join(dir, 'vault'), key: KEY, segmentBytes: 4096 })
  for (let i = 1; i <= 20; i++) {
    await v.append(
      payment(i, { walletId, token, receipt, amount: amount + i, merchantId: 'merchant-visible-1' }),
    )
  }
  await v.append(notice(1, { ref: 'INVOICE-REF-VISIBLE-77' }))
  await v.markSynced([payment(3).txId])
  await v.close()
  const db = await openStateStore({
    dir,
    key: STATE_KEY,
    defaults: { version: 1 as const, revoked: ['feedfacefeedface'], cursor: 'CURSOR-VISIBLE' },
  })
  await db.write()

  const u32 = Buffer.alloc(4)
  u32.writeUInt32BE(amount + 1)
  const needles: [string, Buffer][] = [
    ['wallet id', Buffer.from(walletId)],
    ['wallet id bytes', Buffer.from(walletId, 'hex')],
    ['token', token.subarray(0, 16)],
    ['token hex', Buffer.from(token.subarray(0, 16).toString('hex'))],
    ['receipt', receipt.subarray(0, 16)],
    ['amount text', Buffer.from(String(amount + 1))],
    ['amount bytes', u32],
    ['merchant id', Buffer.from('merchant-visible-1')],
    ['tx id', Buffer.from(payment(7).txId)],
    ['notice ref', Buffer.from('INVOICE-REF-VISIBLE-77')],
    ['revoked wallet', Buffer.from('feedfacefeedface')],
    ['revoked wallet bytes', Buffer.from('feedfacefeedface', 'hex')],
    ['state cursor', Buffer.from('CURSOR-VISIBLE')],
  ]
  const files: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name))
      else files.push(join(d, e.name))
    }
  }
  await walk(dir)
  t.ok(files.length >= 3, `${files.length} files written`)
  for (const f of files) {
    const bytes = await readFile(f)
    for (const [what, needle] of needles) {
      t.notOk(bytes.includes(needle), `${what} not in ${f}`)
      t.notOk(bytes.includes(Buffer.from(needle.toString('hex'))), `${what}, hex-encoded, not in ${f}`)
    }
  }
})
