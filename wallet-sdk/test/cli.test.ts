// The `opg-wallet` command against a bridge on 127.0.0.1 (in-process for the long flow; the bin/opg-wallet.js
// launcher as a child process for start-up, usage and failing closed):
// create and register, top up, load a purse, pay by QR (offline too), sync, history, claim, balance.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeQrText, decodeToken, generateSigningKeyPair, openEnvelope, verifyToken } from '@opg/protocol'
import { nodeBackend } from '@opg/protocol/node'
import QRCode from 'qrcode'
import t from 'tap'
import { FakeBridge, OPERATOR_KEY } from './support/fake-bridge.js'
import { makeBox, world } from './support/fixtures.js'
import { runWalletCli, runWalletCliInProcess } from './support/run-cli.js'

const c = nodeBackend
/** The long flow runs in-process; the launcher itself is exercised as a child process below. */
const run = runWalletCliInProcess

t.test('the CLI wallet end to end', async (t) => {
  // The CLI and the fake bridge read the wall clock, so the world is issued around it (not a fixed T0).
  const w = world(c, Date.now())
  const bridge = new FakeBridge(c, w.issuer, Date.now)
  const url = await bridge.start()
  t.teardown(() => bridge.stop())
  const tmp = await mkdtemp(join(tmpdir(), 'opg-cli-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  const dir = join(tmp, 'state')
  const env = {
    OPG_WALLET_DIR: dir,
    OPG_WALLET_PASSPHRASE: 'a long test passphrase',
    OPG_WALLET_SCRYPT_COST: '1024',
    OPG_BRIDGE_URL: url,
    OPG_OPERATOR_KEY: OPERATOR_KEY,
  }
  const sticker = join(tmp, 'sticker.txt')
  await writeFile(sticker, `${w.box.sticker}\n`)

  const created = await run(['create', '--phone', '+4915112345678', '--json'], env)
  t.equal(created.code, 0, created.stderr)
  const { walletId, registered } = JSON.parse(created.stdout)
  t.ok(registered, 'registered with the operator key')
  t.ok(bridge.wallets.has(walletId), 'the bridge knows the wallet')

  const twice = await run(['create'], env)
  t.equal(twice.code, 1)
  t.match(twice.stderr, /^opg-wallet: error wallet_exists/, 'create never overwrites a wallet')

  t.equal((await run(['top-up', '200'], env)).code, 0)
  const loaded = await run(['load-purse', '100.00', '--limit', '50', '--json'], {
    ...env,
    OPG_OPERATOR_KEY: '',
  })
  t.equal(loaded.code, 0, loaded.stderr)
  t.match(JSON.parse(loaded.stdout), { remaining: 10000, perPaymentLimit: 5000, currency: 'EUR' })
  t.match(bridge.wallets.get(walletId), { available: 10000, escrow: 10000 }, 'escrowed at the bridge')
  const second = await run(['load-purse', '1', '--minor'], env)
  t.equal(second.code, 1)
  t.match(second.stderr, /^opg-wallet: error purse_active/, 'a live purse is not replaced by accident')
  t.match(bridge.wallets.get(walletId), { available: 10000 }, 'and nothing more was escrowed')

  // Offline: the bridge URL points nowhere, yet paying works.
  const offline = { ...env, OPG_BRIDGE_URL: 'http://127.0.0.1:9' }
  const png = join(tmp, 'pay.png')
  const paid = await run(['pay', '--sticker', sticker, '--amount', '12.50', '--png', png, '--json'], offline)
  t.equal(paid.code, 0, paid.stderr)
  const payment = JSON.parse(paid.stdout)
  t.match(payment, { amountMinor: 1250, merchant: 'Corner Cafe', remainingMinor: 8750 })
  t.same([...(await readFile(png)).subarray(1, 4)], [...Buffer.from('PNG')], 'a PNG QR code was written')
  const token = decodeToken(openEnvelope(c, w.box.encryption, decodeQrText(payment.qrText)))
  verifyToken(c, token, {
    issuerKeys: w.keyring,
    nowS: Math.floor(Date.now() / 1000),
    merchantId: '00000000000000aa',
  })
  t.equal(token.txId, payment.txId, 'the box opens and verifies the QR payload')

  const human = await run(['pay', '--sticker', w.box.sticker, '--amount', '50', '--minor'], offline)
  t.equal(human.code, 0, human.stderr)
  t.match(human.stdout, /OPG1:[0-9A-Z $%*+\-./:]+\n/, 'prints the OPG1 text')
  t.match(human.stdout, /▄|█/, 'and draws the QR code in the terminal')
  t.match(human.stdout, /pay 0\.50 EUR to Corner Cafe/, 'the amount reads as money')
  t.match(human.stdout, /purse left 87\.00 EUR/)

  const comma = await run(['pay', '--sticker', sticker, '--amount', '12,50'], offline)
  t.equal(comma.code, 2, 'a comma is a usage mistake')
  t.match(comma.stderr, /^opg-wallet: error bad_amount: .*use a dot as the decimal sign: 12\.50/)
  const negative = await run(['pay', '--sticker', sticker, '--amount', '-5'], offline)
  t.equal(negative.code, 2)
  t.match(negative.stderr, /^opg-wallet: error bad_amount: '-5' is negative/)

  const svg = join(tmp, 'again.svg')
  const shown = await run(['show', payment.txId, '--svg', svg, '--json'], offline)
  t.equal(shown.code, 0, shown.stderr)
  const reshown = decodeToken(
    openEnvelope(c, w.box.encryption, decodeQrText(JSON.parse(shown.stdout).qrText)),
  )
  t.equal(reshown.txId, payment.txId, 'show seals the same token again')
  t.match(await readFile(svg, 'utf8'), /<svg/)

  const over = await run(['pay', '--sticker', sticker, '--amount', '50.01'], offline)
  t.equal(over.code, 1)
  t.match(over.stderr, /^opg-wallet: error over_limit/)
  const forged = makeBox(
    c,
    generateSigningKeyPair(c),
    { merchantId: '00000000000000aa', deviceId: '00000000000000d1' },
    undefined,
    undefined,
    Date.now(),
  )
  const fake = await run(['pay', '--sticker', forged.sticker, '--amount', '10'], offline)
  t.equal(fake.code, 1)
  t.match(fake.stderr, /^opg-wallet: error forged_sticker/)
  // The sticker image opg-provision prints is read too (decoded like the box decodes QR codes).
  const stickerPng = join(tmp, 'forged-sticker.png')
  await QRCode.toFile(stickerPng, forged.sticker, { errorCorrectionLevel: 'M' })
  const fromPng = await run(['pay', '--sticker', stickerPng, '--amount', '0.10'], offline)
  t.equal(fromPng.code, 1)
  t.match(fromPng.stderr, /^opg-wallet: error forged_sticker/, 'the PNG decodes to the sticker it shows')
  const blankPng = join(tmp, 'blank.png')
  await writeFile(blankPng, Buffer.from(png_1x1, 'base64'))
  const noQr = await run(['pay', '--sticker', blankPng, '--amount', '0.10'], offline)
  t.match(noQr.stderr, /^opg-wallet: error bad_sticker: no QR code found in the image/)
  const noSync = await run(['sync'], offline)
  t.equal(noSync.code, 1)
  t.match(noSync.stderr, /^opg-wallet: error offline/m, 'sync says the bridge is unreachable')
  const offBal = await run(['balance'], offline)
  t.match(offBal.stdout, /offline purse 87\.00 EUR left of 100\.00 EUR/)
  t.match(offBal.stdout, /unsynced payments 2/)
  t.match(offBal.stdout, /bridge unreachable/)

  // Nothing readable on disk.
  const disk = Buffer.concat(await Promise.all((await readdir(dir)).map((n) => readFile(join(dir, n)))))
  for (const s of [payment.txId, 'Corner Cafe', 'opg_', walletId])
    t.notOk(disk.includes(s), `${s} not on disk in clear`)

  // Back online.
  const synced = await run(['sync', '--json'], env)
  t.equal(synced.code, 0, synced.stderr)
  t.equal(JSON.parse(synced.stdout).uploaded, 2)
  t.equal(bridge.payments.get(payment.txId)?.status, 'held')
  t.equal(
    JSON.parse((await run(['sync', '--json'], env)).stdout).uploaded,
    0,
    'a second sync has nothing to send',
  )

  const hist = await run(['history'], env)
  // The hold's end as a person reads it: to the minute, in UTC, said so.
  const holdUntil = bridge.payments.get(payment.txId)!.holdUntil!
  t.match(
    hist.stdout,
    `${payment.txId} 12.50 EUR held until ${holdUntil.slice(0, 10)} ${holdUntil.slice(11, 16)} UTC merchant`,
  )
  const claimed = await run(['claim', payment.txId, '--reason', 'not me'], env)
  t.equal(claimed.code, 0, claimed.stderr)
  t.match(claimed.stdout, /: open/)
  t.equal(bridge.payments.get(payment.txId)?.status, 'claimed')
  const again = await run(['claim', payment.txId], env)
  t.equal(again.code, 1)
  t.match(again.stderr, /error bridge \(claim_not_allowed\)/, 'the bridge code reaches the user')

  const bal = await run(['balance', '--json'], env)
  const expiresAt = new Date(JSON.parse(bal.stdout).purse.expiresAt * 1000).toISOString()
  t.match(
    (await run(['balance'], env)).stdout,
    `offline purse 87.00 EUR left of 100.00 EUR, valid until ${expiresAt.slice(0, 10)} ${expiresAt.slice(11, 16)} UTC`,
  )
  t.match(JSON.parse(bal.stdout), {
    purse: { remaining: 8700 },
    online: { available: 10000, escrow: 10000 },
    unsynced: 0,
  })
  const log = await run(['log'], env)
  t.match(log.stdout, /#\d+ 12\.50 EUR to Corner Cafe accepted/)
})

t.test('the CLI fails closed and explains usage', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'opg-cli-'))
  t.teardown(() => rm(tmp, { recursive: true, force: true }))
  const help = await runWalletCli(['--help'], {})
  t.equal(help.code, 0)
  t.match(help.stdout, /Usage: opg-wallet \[options\] \[command\]/, 'the launcher starts the CLI')
  t.match(
    help.stdout,
    /load-purse \[options\] <amount>\s+escrow an amount/,
    'commands come with descriptions',
  )
  const noKey = await runWalletCli(['create'], { OPG_WALLET_DIR: tmp, OPG_WALLET_PASSPHRASE: '' })
  t.equal(noKey.code, 1)
  t.match(noKey.stderr, /bad_passphrase/, 'no passphrase, no wallet')
  const usage = await runWalletCli(['pay', '--amount', '1'], {
    OPG_WALLET_DIR: tmp,
    OPG_WALLET_PASSPHRASE: 'x',
  })
  t.equal(usage.code, 2)
  t.match(usage.stderr, /^opg-wallet: error usage: required option '--sticker/, 'one line, with its code')
  t.equal(usage.stderr.trim().split('\n').length, 1)
  const none = await runWalletCli(['balance'], {
    OPG_WALLET_DIR: tmp,
    OPG_WALLET_PASSPHRASE: 'x',
    OPG_WALLET_SCRYPT_COST: '1024',
  })
  t.equal(none.code, 1)
  t.match(none.stderr, /no_wallet/)
})

/** A 1×1 white PNG: an image with no QR code in it. */
const png_1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAWk1v8QAAAABJRU5ErkJggg=='
