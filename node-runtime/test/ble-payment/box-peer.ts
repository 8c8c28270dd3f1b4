/**
 * The box child process of the BLE payment tests and benchmark: the real bleno binding on the virtual radio,
 * in front of either the real acceptance path (protocol verifier → Acceptor → FileVault journal →
 * blePaymentHandler) or a fake box that holds a genuine node certificate but not its signing key.
 * It reports what happens inside as IPC events: 'durable' when the vault has fsynced a payment, 'sent' for
 * every message the box sends (so a test can see the receipt went out only after the write was durable),
 * 'session-end', and for the fake box 'fake-got' for anything the wallet sent after the hello.
 */
import { peerConfig } from '@opg/testkit/virtual-hci/index.js'

/** What the test hands the box: its identity, issuer key and journal. Bytes cross IPC as Uint8Array. */
export interface BoxStartArgs {
  mode: 'real' | 'fake'
  tag: string
  issuerPublic: Uint8Array
  certBytes: Uint8Array
  signingSecret: Uint8Array
  encryptionSecret: Uint8Array
  encryptionPublic: Uint8Array
  merchantId: string
  deviceId: string
  vaultDir: string
  vaultKey: Uint8Array
  maxMessageSize?: number
}

const peer = peerConfig()
if (peer?.role === 'box') await runBox(peer)

async function runBox(config: NonNullable<ReturnType<typeof peerConfig>>): Promise<void> {
  const { installVirtualHci, servePeer } = await import('@opg/testkit/virtual-hci/index.js')
  const vhci = installVirtualHci({ radioPath: config.radioPath, address: config.address, name: config.name })
  const P = await import('@opg/protocol')
  const { nodeBackend: c } = await import('@opg/protocol/node')
  const { BlenoBleBinding } = await import('../../src/bindings/ble/index.js')
  const { Acceptor } = await import('../../src/accept/acceptor.js')
  const { VaultView } = await import('../../src/accept/ledger.js')
  const { protocolVerifier } = await import('../../src/accept/protocol-verifier.js')
  const { blePaymentHandler } = await import('../../src/accept/ble-payments.js')
  const { FileVault } = await import('../../src/vault/index.js')
  type Session = import('../../src/bindings/ble/index.js').BleSession

  let binding: InstanceType<typeof BlenoBleBinding> | undefined
  let vault: InstanceType<typeof FileVault> | undefined

  /** The session as the handler sees it, with each outgoing message reported. */
  const instrument = (session: Session, emit: (e: string, d?: unknown) => void): Session => ({
    id: session.id,
    peer: session.peer,
    get mtu() {
      return session.mtu
    },
    signal: session.signal,
    ended: session.ended,
    receive: (ms?: number) => session.receive(ms),
    send: async (m: Uint8Array) => {
      emit('sent', { id: session.id, length: m.length, kind: m[0] })
      return session.send(m)
    },
    close: () => session.close(),
    [Symbol.asyncIterator]: () => session[Symbol.asyncIterator](),
  })

  servePeer(
    {
      start: async (a: BoxStartArgs, emit) => {
        const cert = P.decodeNodeCertificate(a.certBytes)
        let handler: (s: Session) => Promise<void>
        if (a.mode === 'real') {
          const v = await FileVault.open({ dir: a.vaultDir, key: a.vaultKey })
          vault = v
          const append = v.append.bind(v)
          v.append = async (rec) => {
            await append(rec)
            if (rec.kind === 'payment') emit('durable', { txId: rec.txId })
          }
          const view = new VaultView(v)
          const acceptor = new Acceptor({
            verifier: protocolVerifier({
              c,
              issuerKeys: P.makeKeyring(c, [a.issuerPublic]),
              merchantId: a.merchantId,
              deviceId: a.deviceId,
              encryption: { secretKey: a.encryptionSecret, publicKey: a.encryptionPublic },
              signingSecret: a.signingSecret,
            }),
            vault: v,
            view,
            clock: { now: () => Date.now() },
            policy: { maxUnsyncedTotal: 1_000_000, maxPerWalletPerDay: 1_000_000, currency: 'EUR' },
          })
          const inner = blePaymentHandler({
            c,
            acceptor,
            signingSecret: a.signingSecret,
            cert,
            receipts: v,
            timeoutMs: 5_000,
          })
          handler = (s) => Promise.resolve(inner(instrument(s, emit)))
        } else {
          // Without the node key the fake signs the transcript with a key of its own: the wallet must refuse.
          const wrongKey = c.randomBytes(32)
          handler = async (s) => {
            try {
              const hello = await s.receive(5_000)
              await s.send(P.boxRespond(c, { signingSecret: wrongKey, cert }, hello).message)
              for (;;) emit('fake-got', { length: (await s.receive(5_000)).length })
            } catch {
              // the wallet went away, as it should
            }
          }
        }
        binding = new BlenoBleBinding({
          deviceTag: a.tag,
          maxMessageSize: a.maxMessageSize ?? P.BLE_MESSAGE_MAX,
          onError: (err) => emit('binding-error', { code: (err as { code?: string }).code }),
        })
        await binding.start(async (session) => {
          void session.ended.then((end) =>
            emit('session-end', { id: session.id, reason: end.reason, code: end.error?.code }),
          )
          await handler(session)
        })
        return { ok: true }
      },
      /** The payments the journal holds (from the running vault's index). */
      payments: () => [...(vault?.payments() ?? [])].map((p) => ({ txId: p.txId, amount: p.amount })),
    },
    async () => {
      await binding?.stop()
      await vault?.close()
      vhci.close()
    },
  )
}
