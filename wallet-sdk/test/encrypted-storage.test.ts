// The Node file store: encrypted at rest (no plaintext in the state dir), durable across reopen, and refusing
// a wrong passphrase, a wrong key file or a tampered record.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toHex } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import t, { type Test } from 'tap'
import { createKeyFile, EncryptedFileStorage, openFileWallet } from '../src/node/index.js'
import { world } from './support/fixtures.js'

const FAST = { scryptCost: 2 ** 10 }

async function tmp(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opg-wallet-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function allBytes(dir: string): Promise<Buffer> {
  const names = await readdir(dir)
  return Buffer.concat(await Promise.all(names.map((n) => readFile(join(dir, n)))))
}

t.test('a wallet in the file store leaves no plaintext on disk', async (t) => {
  const dir = await tmp(t)
  const w = world(nodeBackend)
  const { wallet, storage } = await openFileWallet({
    dir,
    key: { passphrase: 'correct horse', ...FAST },
    create: true,
    now: w.clock.now,
  })
  await wallet.setRegistration({
    walletId: '0000000000000c01',
    apiKey: 'opg_secretkeyid_supersecretvalue',
    issuerKeys: w.keyring,
  })
  await wallet.installPurse(w.issuePurse(wallet.publicKey))
  const p = await wallet.pay({ to: w.box.sticker, amount: 1234 })

  const disk = await allBytes(dir)
  const secrets = {
    txId: p.txId,
    merchantName: 'Corner Cafe',
    apiKey: 'opg_secretkeyid_supersecretvalue',
    publicKeyHex: toHex(wallet.publicKey),
    tokenHex: toHex(p.token.bytes).slice(0, 64),
    tokenRaw: Buffer.from(p.token.bytes.subarray(0, 32)).toString('latin1'),
    json: '"remaining"',
    seedHex: JSON.parse((await storage.get('wallet'))!).seed as string,
  }
  t.match(secrets.seedHex, /^[0-9a-f]{64}$/, 'the software key is in the (encrypted) state')
  for (const [what, s] of Object.entries(secrets)) {
    t.notOk(
      disk.includes(Buffer.from(s, what === 'tokenRaw' ? 'latin1' : 'utf8')),
      `no ${what} in the state dir`,
    )
  }

  const again = await openFileWallet({ dir, key: { passphrase: 'correct horse' }, now: w.clock.now })
  t.same(
    again.wallet.log().map((e) => e.txId),
    [p.txId],
    'state survives reopening',
  )
  t.equal(again.wallet.apiKey, 'opg_secretkeyid_supersecretvalue')
})

t.test('wrong passphrase, tampering and key files', async (t) => {
  const dir = await tmp(t)
  const s = await new EncryptedFileStorage(dir, { passphrase: 'one', ...FAST }).open()
  await s.set('wallet', 'hello')
  t.equal(await s.get('wallet'), 'hello')
  t.equal(await s.get('missing'), undefined)
  await t.rejects(new EncryptedFileStorage(dir, { passphrase: 'two' }).open(), { code: 'bad_passphrase' })
  await t.rejects(new EncryptedFileStorage(dir, { key: new Uint8Array(16) }).open(), {
    code: 'bad_passphrase',
  })

  const file = join(dir, 'wallet.opgw')
  const raw = await readFile(file)
  raw[raw.length - 20]! ^= 1
  await writeFile(file, raw)
  await t.rejects(s.get('wallet'), { code: 'storage' }, 'a flipped bit is detected')

  // Records are bound to their key name: a copied record does not decrypt under another name.
  await s.set('a', 'value of a')
  await writeFile(join(dir, 'b.opgw'), await readFile(join(dir, 'a.opgw')))
  await t.rejects(s.get('b'), { code: 'storage' }, 'records cannot be swapped')
  await s.delete('a')
  t.equal(await s.get('a'), undefined)

  const dir2 = await tmp(t)
  const keyFile = join(dir2, 'wallet.key')
  await createKeyFile(keyFile)
  const k = await new EncryptedFileStorage(join(dir2, 'state'), { keyFile }).open()
  await k.set('wallet', 'kept')
  t.equal(
    await (await new EncryptedFileStorage(join(dir2, 'state'), { keyFile }).open()).get('wallet'),
    'kept',
  )
  await t.rejects(new EncryptedFileStorage(join(dir2, 'state'), { passphrase: 'x' }).open(), {
    code: 'bad_passphrase',
  })
  await t.rejects(s.set('../escape', 'x'), { code: 'storage' }, 'key names cannot escape the directory')
})

t.test('a temp file left by a crash is removed at open; the committed value stays', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'opg-wallet-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const inner = join(dir, 'a', 'b')
  const store = await new EncryptedFileStorage(inner, { key: new Uint8Array(16).fill(3) }).open()
  await store.set('purse', 'committed')
  // What a power cut between write and rename leaves: a random-named temp beside the live file.
  await writeFile(join(inner, '.purse.opgw.0badc0de.tmp'), 'half written')
  const again = await new EncryptedFileStorage(inner, { key: new Uint8Array(16).fill(3) }).open()
  t.same(
    (await readdir(inner)).filter((n) => n.endsWith('.tmp')),
    [],
    'no temp file left',
  )
  t.equal(await again.get('purse'), 'committed')
})
