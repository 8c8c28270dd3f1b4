/**
 * BLE payments, wallet side: the real wallet core (payOverBle / retryOverBle) over the real noble
 * (NobleGattClient) on the virtual radio. Run with OPG_PEER_ROLE=wallet this file is the wallet child of
 * node-runtime/test/ble-payment/payment.test.ts and node-runtime/bench/ble-payment.ts. Run by tap it tests,
 * from the wallet's side, that a box without the node key is refused before any token leaves the wallet.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerConfig } from '@opg/testkit/virtual-hci/index.js'

const WALLET_FILE = fileURLToPath(import.meta.url)
const BOX_FILE = resolve(dirname(WALLET_FILE), '../../node-runtime/test/ble-payment/box-peer.ts')

/** An error as it crosses IPC: the wallet error code, the box's code, and the transport code under it. */
export interface PeerError {
  name: string
  code?: string
  remoteCode?: string
  causeCode?: string
}

/** What a `pay` or `retry` call reports. */
export interface PayResult {
  txId?: string
  status?: string
  receipt?: Uint8Array
  error?: PeerError
}

const peer = peerConfig()
if (peer?.role === 'wallet') await runWallet(peer)
else if (!peer) await runTests()

function describe(err: unknown): PeerError {
  const e = err as { name?: string; code?: string; remoteCode?: string; cause?: { code?: string } }
  return { name: e.name ?? 'Error', code: e.code, remoteCode: e.remoteCode, causeCode: e.cause?.code }
}

async function runWallet(config: NonNullable<ReturnType<typeof peerConfig>>): Promise<void> {
  const { installVirtualHci, servePeer } = await import('@opg/testkit/virtual-hci/index.js')
  const vhci = installVirtualHci({ radioPath: config.radioPath, address: config.address, name: config.name })
  const { makeKeyring } = await import('@opg/protocol')
  const { nodeBackend: c } = await import('@opg/protocol/node')
  const { MemoryStorage, Wallet, payOverBle } = await import('../src/core/index.js')
  const { NobleGattClient, NobleGattSession, gattChannel } = await import('../src/node/ble/index.js')
  const { retryOverBle } = await import('../src/node/ble/index.js')
  type Channel = import('../src/core/ble-pay.js').BleMessageChannel

  const client = new NobleGattClient()
  await client.start()
  let wallet: import('../src/core/wallet.js').Wallet | undefined
  let held: Channel | undefined
  const mine = () => {
    if (!wallet) throw new Error('init first')
    return wallet
  }
  const channelOpts = (a: { receiveTimeoutMs?: number; startWithFirstMessage?: boolean }) => ({
    timeoutMs: 10_000,
    receiveTimeoutMs: a.receiveTimeoutMs ?? 5_000,
    ...(a.startWithFirstMessage === false ? { startWithFirstMessage: false } : {}),
  })

  servePeer(
    {
      init: async (a: { issuerPublic: Uint8Array }) => {
        wallet = await Wallet.create({
          crypto: c,
          storage: new MemoryStorage(),
          issuerKeys: makeKeyring(c, [a.issuerPublic]),
        })
        return { publicKey: wallet.publicKey }
      },
      installPurse: async (a: { cert: Uint8Array }) => mine().installPurse(a.cert),
      /** payOverBle over a fresh gattChannel; errors come back as data. */
      pay: async (a: { tag: string; sticker: string; amount: number; receiveTimeoutMs?: number }) => {
        const out: PayResult = {}
        try {
          const r = await payOverBle(mine(), gattChannel(client, a.tag, channelOpts(a)), {
            to: a.sticker,
            amount: a.amount,
          })
          out.txId = r.payment.txId
          out.receipt = r.receipt.bytes
        } catch (err) {
          out.error = describe(err)
        }
        return out
      },
      retry: async (a: { tag: string; txId: string }) => {
        const out: PayResult = { txId: a.txId }
        try {
          const r = await retryOverBle(mine(), gattChannel(client, a.tag, channelOpts({})), a.txId)
          out.status = r.status
          if (r.status === 'received') out.receipt = r.receipt.bytes
        } catch (err) {
          out.error = describe(err)
        }
        return out
      },
      /** The wallet's log as the app shows it. */
      log: () =>
        mine()
          .log()
          .map((e) => ({ txId: e.txId, amount: e.amount, receipt: e.receipt, refused: e.refused })),
      /** Raw chunks or whole messages on a plain session, then one receive: what the box answers to garbage. */
      raw: async (a: { tag: string; chunks?: Uint8Array[]; messages?: Uint8Array[] }) => {
        try {
          const s = await client.connect(a.tag, { timeoutMs: 10_000 })
          try {
            for (const m of a.messages ?? []) await s.send(m)
            if (s instanceof NobleGattSession) for (const ch of a.chunks ?? []) await s.writeChunk(ch)
            await s.receive(5_000)
            return {}
          } finally {
            await s.close()
          }
        } catch (err) {
          return { error: describe(err) }
        }
      },
      /** Benchmark: connect and set the session up, so the radio's counters can be read between the steps. */
      open: async (a: { tag: string; startWithFirstMessage?: boolean }) => {
        const ch = gattChannel(client, a.tag, channelOpts(a))
        await ch.open()
        held = ch
        return {}
      },
      /** Benchmark: the payment itself over the channel `open` set up, leaving the link up. */
      payOpen: async (a: { sticker: string; amount: number }) => {
        const ch = held
        if (!ch) throw new Error('open first')
        const keep: Channel = {
          open: async () => {},
          send: ch.send,
          receive: ch.receive,
          close: async () => {},
        }
        const r = await payOverBle(mine(), keep, { to: a.sticker, amount: a.amount })
        return { txId: r.payment.txId }
      },
      close: async () => {
        await held?.close()
        held = undefined
        return {}
      },
    },
    async () => {
      await client.stop()
      vhci.close()
    },
  )
}

async function runTests(): Promise<void> {
  const { default: t } = await import('tap')
  const { spawnPeer, VirtualRadio } = await import('@opg/testkit/virtual-hci/index.js')
  const P = await import('@opg/protocol')
  const { nodeBackend: c } = await import('@opg/protocol/node')

  t.test(
    'a box with a genuine certificate but without the node key is refused; it never gets a token',
    async (t) => {
      const radio = new VirtualRadio({ maxAttMtu: 185 })
      await radio.start()
      const box = spawnPeer({
        file: BOX_FILE,
        role: 'box',
        radioPath: radio.path,
        address: 'b0:0c:00:00:0f:01',
      })
      const wallet = spawnPeer({ file: WALLET_FILE, role: 'wallet', radioPath: radio.path })
      t.teardown(async () => {
        await Promise.all([box.stop(), wallet.stop()])
        await radio.stop()
      })
      const nowS = Math.floor(Date.now() / 1000)
      const issuer = P.generateSigningKeyPair(c)
      const signing = P.generateSigningKeyPair(c)
      const encryption = P.generateEncryptionKeyPair(c)
      const deviceId = 'fa4ebe0000000001'
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
      await box.call('start', {
        mode: 'fake',
        tag,
        issuerPublic: issuer.publicKey,
        certBytes: cert.bytes,
        signingSecret: new Uint8Array(32),
        encryptionSecret: encryption.secretKey,
        encryptionPublic: encryption.publicKey,
        merchantId: cert.merchantId,
        deviceId,
        vaultDir: '',
        vaultKey: new Uint8Array(16),
      })
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
      const sticker = P.encodeSticker({ nodeCert: cert, merchantName: 'Corner Cafe' })
      const r = await wallet.call<PayResult>('pay', { tag, sticker, amount: 250 })
      t.equal(r.error?.code, 'forged_sticker', 'the wallet refuses the box')
      t.equal(r.error?.causeCode, 'bad_signature', 'because the transcript signature is not the node key’s')
      t.same(await wallet.call('log'), [], 'no token was signed')
      await box.call('payments').catch(() => undefined)
      t.notOk(
        box.events.some((e) => e.event === 'fake-got'),
        'the fake box received nothing after its hello',
      )
      const [link] = radio.links()
      t.equal(link?.up.attOps.write_cmd ?? 0, 0, 'after the hello the wallet wrote no Client2Server chunk')
    },
  )
}
