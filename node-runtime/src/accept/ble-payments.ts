/**
 * Payments over BLE (SPEC.md §10): for each wallet session, answer the WalletHello with a signed BoxHello and
 * a fresh challenge, open the sealed token, accept it bound to that challenge, and send back the sealed
 * receipt — or a sealed rejection code. The binding below handles chunking; this is the session logic.
 */
import {
  type Bytes,
  boxRespond,
  type CryptoBackend,
  decodeInner,
  decodeToken,
  ERROR_CODES,
  type ErrorCode,
  encodeInner,
  equalBytes,
  isProtocolError,
  type NodeCertificate,
} from '@opg/protocol'
import type { BleSession, BleSessionHandler } from '../bindings/ble/index.js'
import type { Vault } from '../vault/types.js'
import type { AcceptCode, Acceptor } from './acceptor.js'

export interface BlePaymentOptions {
  c: CryptoBackend
  acceptor: Pick<Acceptor, 'accept'>
  signingSecret: Bytes
  cert: NodeCertificate
  /** How long to wait for each wallet message. */
  timeoutMs?: number
  /**
   * The vault, to answer a wallet that retries after a lost receipt: a token already stored, byte for byte,
   * gets its stored receipt again instead of a second record (its challenge is the old session's).
   */
  receipts?: Pick<Vault, 'get' | 'has'>
}

/** The handler to pass to a BleBinding's start(). */
export function blePaymentHandler(o: BlePaymentOptions): BleSessionHandler {
  const timeoutMs = o.timeoutMs ?? 10_000
  return async (session: BleSession) => {
    try {
      const hello = await session.receive(timeoutMs)
      const { message, cipher, challenge } = boxRespond(
        o.c,
        { signingSecret: o.signingSecret, cert: o.cert },
        hello,
      )
      await session.send(message)
      let reply: Bytes
      try {
        const inner = decodeInner(cipher.open(await session.receive(timeoutMs)))
        if (inner.kind !== 'token') throw new Error('expected a token')
        const stored = o.receipts ? await storedReceipt(o.receipts, inner.token) : undefined
        const out = stored
          ? ({ ok: true, receipt: { bytes: stored } } as const)
          : await o.acceptor.accept({ bleToken: inner.token, challenge })
        reply = out.ok
          ? encodeInner({ kind: 'receipt', receipt: out.receipt.bytes })
          : encodeInner({ kind: 'reject', code: wireCode(out.code) })
      } catch (err) {
        reply = encodeInner({ kind: 'reject', code: isProtocolError(err) ? err.code : 'bad_type' })
      }
      await session.send(cipher.seal(reply))
    } catch {
      // Handshake failures and dropped links end the session; the wallet sees it close.
    } finally {
      await session.close().catch(() => {})
    }
  }
}

/** The receipt of `token` if the vault holds exactly this token (a retry), else undefined. */
async function storedReceipt(vault: Pick<Vault, 'get' | 'has'>, token: Bytes): Promise<Bytes | undefined> {
  let txId: string
  try {
    txId = decodeToken(token).txId
  } catch {
    return undefined // the acceptor reports why
  }
  // A first presentation still being made durable is reserved (has) but not yet readable (get): wait for it.
  for (let i = 0; i < 40 && vault.has(txId); i++) {
    const rec = await vault.get(txId)
    if (rec) return equalBytes(rec.token, token) ? rec.receipt : undefined
    await new Promise((r) => setTimeout(r, 50))
  }
  return undefined
}

/** Box-only failure codes travel as the nearest protocol code: the wallet may retry later. */
function wireCode(code: AcceptCode): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'bad_state'
}
