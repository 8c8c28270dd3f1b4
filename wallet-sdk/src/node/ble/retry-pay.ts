/**
 * Finishing a BLE payment whose receipt never came back (the link dropped after the token was sent). The
 * wallet cannot tell whether the box stored the token, and it must never sign a second token for the same
 * purchase blind. So it opens a new session and presents the *same* logged token (same tx id, same bytes):
 *   - the box holds it → the box sends the receipt it stored with it (the same receipt; nothing new recorded);
 *   - the box does not → the token's challenge is the old session's, so the box refuses it (`bad_challenge`),
 *     records nothing, and the wallet marks it refused (never uploaded): the customer may then pay afresh.
 * Either way the box records the payment at most once. Portable (no node: imports): it uses only the core.
 */
import {
  type Bytes,
  decodeInner,
  encodeInner,
  isProtocolError,
  type Receipt,
  walletFinish,
  walletHello,
} from '@opg/protocol'
import type { BleMessageChannel } from '../../core/ble-pay.js'
import { WalletError } from '../../core/errors.js'
import type { Payment } from '../../core/payment.js'
import type { Wallet } from '../../core/wallet.js'

/** What a retry established. */
export type BleRetryResult =
  /** The box held the payment and sent its receipt (verified, now in the wallet's log). */
  | { status: 'received'; payment: Payment; receipt: Receipt }
  /** The box does not hold it and refused it with `code`; the wallet marked it refused. Pay afresh if needed. */
  | { status: 'not_received'; payment: Payment; code: string }

/**
 * Present logged payment `txId` again over a new session on `channel`. Throws WalletError 'forged_sticker'
 * when the box cannot prove it is the box the payment was for, 'ble' when the exchange breaks (retry again
 * later: nothing changed), 'bad_receipt' when the receipt does not prove the payment.
 */
export async function retryOverBle(
  wallet: Wallet,
  channel: BleMessageChannel,
  txId: string,
): Promise<BleRetryResult> {
  const entry = wallet.log().find((e) => e.txId === txId)
  if (!entry) throw new WalletError('no_purse', `no payment ${txId} in this wallet`)
  const payment = wallet.payment(txId)
  const c = wallet.crypto
  try {
    await channel.open()
    const hs = walletHello(c)
    await channel.send(hs.message)
    const boxHello = await channel.receive()
    let session: ReturnType<typeof walletFinish>
    try {
      session = walletFinish(c, hs, boxHello, {
        issuerKeys: wallet.issuerKeys,
        deviceId: payment.target.deviceId,
        nowS: Math.floor(wallet.now() / 1000),
      })
    } catch (cause) {
      if (
        ['bad_signature', 'unknown_key', 'wrong_device'].some((code) => isProtocolError(cause, code as never))
      ) {
        throw new WalletError('forged_sticker', 'the box could not prove it is the box on the sticker', {
          cause,
        })
      }
      throw new WalletError('ble', 'the box sent an invalid session hello', { cause })
    }
    await channel.send(session.cipher.seal(encodeInner({ kind: 'token', token: payment.token.bytes })))
    let reply: ReturnType<typeof decodeInner>
    try {
      reply = decodeInner(session.cipher.open(await channel.receive()))
    } catch (cause) {
      throw new WalletError('ble', 'the box answer could not be read', { cause })
    }
    if (reply.kind === 'reject') {
      // 'replay' says the box knows this tx id but could not hand the receipt back yet: not a refusal.
      if (reply.code === 'replay') {
        throw new WalletError('ble', 'the box holds this payment but sent no receipt; try again', {
          remoteCode: reply.code,
        })
      }
      await wallet.markRefused(txId, reply.code)
      return { status: 'not_received', payment, code: reply.code }
    }
    if (reply.kind !== 'receipt')
      throw new WalletError('ble', 'the box answered with something other than a receipt')
    const receipt = await wallet.acceptReceipt(payment, reply.receipt as Bytes)
    return { status: 'received', payment, receipt }
  } catch (err) {
    if (err instanceof WalletError) throw err
    throw new WalletError('ble', 'the BLE exchange failed', { cause: err })
  } finally {
    await channel.close().catch(() => undefined)
  }
}
