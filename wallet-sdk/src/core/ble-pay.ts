/**
 * Paying over BLE (SPEC.md §10): the wallet proves it talks to the box on the sticker (the box signs the
 * session transcript with its node key), signs a token bound to the box's session challenge, sends it inside
 * the session cipher and verifies the box's signed receipt. The transport — GATT, chunking, reassembly — sits
 * behind `BleMessageChannel`, so this runs on any BLE stack (noble on Node, a native module on a phone).
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
import { WalletError } from './errors.js'
import type { Payment } from './payment.js'
import type { MerchantTarget } from './sticker.js'
import type { Wallet } from './wallet.js'

/** Whole messages to and from the box's payment service; the transport does GATT and chunking. */
export interface BleMessageChannel {
  /** Start a session (write State 0x01). */
  open(): Promise<void>
  /** Send one whole message (chunked to the MTU by the transport). */
  send(message: Bytes): Promise<void>
  /** The next whole message from the box; rejects on timeout or disconnect. */
  receive(): Promise<Bytes>
  /** End the session (write State 0x02) and release the link. Safe to call twice. */
  close(): Promise<void>
}

/** What a BLE payment returns: the payment and the box's verified receipt. */
export interface BlePaymentResult {
  payment: Payment
  receipt: Receipt
}

type Session = ReturnType<typeof walletFinish>

/** Open a session with the box `deviceId`: it must prove it holds the certified node key of that box. */
async function openSession(wallet: Wallet, channel: BleMessageChannel, deviceId: string): Promise<Session> {
  const c = wallet.crypto
  await channel.open()
  const hs = walletHello(c)
  await channel.send(hs.message)
  const boxHello = await channel.receive()
  try {
    return walletFinish(c, hs, boxHello, {
      issuerKeys: wallet.issuerKeys,
      deviceId,
      nowS: Math.floor(wallet.now() / 1000),
    })
  } catch (cause) {
    if (
      isProtocolError(cause, 'bad_signature') ||
      isProtocolError(cause, 'unknown_key') ||
      isProtocolError(cause, 'wrong_device')
    ) {
      throw new WalletError('forged_sticker', 'the box could not prove it is the box on the sticker', {
        cause,
      })
    }
    throw new WalletError('ble', 'the box sent an invalid session hello', { cause })
  }
}

/** Send a signed token inside the session and read the box's answer. */
async function presentToken(session: Session, channel: BleMessageChannel, token: Bytes) {
  await channel.send(session.cipher.seal(encodeInner({ kind: 'token', token })))
  try {
    return decodeInner(session.cipher.open(await channel.receive()))
  } catch (cause) {
    throw new WalletError('ble', 'the box answer could not be read', { cause })
  }
}

/** Run `fn`, turning any non-wallet failure into WalletError('ble'), and always close the channel. */
async function exchange<T>(channel: BleMessageChannel, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof WalletError) throw err
    throw new WalletError('ble', 'the BLE exchange failed', { cause: err })
  } finally {
    await channel.close().catch(() => undefined)
  }
}

/**
 * Pay `amount` to the box named by `to` over `channel`. Throws WalletError: 'forged_sticker' when the box
 * cannot prove it holds the certified node key (or is another box), 'ble' when the box refuses the token
 * (the error's `remoteCode` holds the protocol code) or the exchange breaks. The channel is always closed.
 *
 * A token that was sent stays spent in the wallet even if no receipt came back: the box may have stored it,
 * and spending that amount again could exceed the escrowed purse. A token the box explicitly refused is kept
 * out of log uploads (the payer's upload would credit the merchant); its amount returns with the purse's
 * leftover at expiry unless the box delivers it after all.
 */
export async function payOverBle(
  wallet: Wallet,
  channel: BleMessageChannel,
  o: { to: string | MerchantTarget; amount: number },
): Promise<BlePaymentResult> {
  const target = typeof o.to === 'string' ? wallet.readSticker(o.to) : o.to
  return exchange(channel, async () => {
    const session = await openSession(wallet, channel, target.deviceId)
    const payment = await wallet.pay({ to: target, amount: o.amount, challenge: session.challenge })
    const reply = await presentToken(session, channel, payment.token.bytes)
    if (reply.kind === 'reject') {
      await wallet.markRefused(payment.txId, reply.code)
      throw new WalletError('ble', `the box refused the payment: ${reply.code}`, { remoteCode: reply.code })
    }
    if (reply.kind !== 'receipt')
      throw new WalletError('ble', 'the box answered with something other than a receipt')
    const receipt = await wallet.acceptReceipt(payment, reply.receipt)
    return { payment, receipt }
  })
}

/** What a retry established. */
export type BleRetryResult =
  /** The box held the payment and sent its receipt (verified, now in the wallet's log). */
  | { status: 'received'; payment: Payment; receipt: Receipt }
  /** The box does not hold it and refused it with `code`; the wallet marked it refused. Pay afresh if needed. */
  | { status: 'not_received'; payment: Payment; code: string }

/**
 * Finishing a BLE payment whose receipt never came back (the link dropped after the token was sent). The
 * wallet cannot tell whether the box stored the token, and must never sign a second token for the same
 * purchase blind. So it opens a new session and presents the *same* logged token (same tx id, same bytes):
 * the box that holds it sends the receipt it stored (nothing new recorded); a box that does not refuses it
 * (`bad_challenge`: the challenge is the old session's) and the wallet marks it refused (never uploaded), so the
 * customer may pay afresh. Either way the box records the payment at most once. Throws WalletError
 * 'forged_sticker', 'ble' (the exchange broke: retry later, nothing changed) or 'bad_receipt'.
 */
export async function retryOverBle(
  wallet: Wallet,
  channel: BleMessageChannel,
  txId: string,
): Promise<BleRetryResult> {
  if (!wallet.log().some((e) => e.txId === txId))
    throw new WalletError('unknown_payment', `no payment ${txId} in this wallet`)
  const payment = wallet.payment(txId)
  return exchange(channel, async () => {
    const session = await openSession(wallet, channel, payment.target.deviceId)
    const reply = await presentToken(session, channel, payment.token.bytes)
    if (reply.kind === 'reject') {
      // 'replay' says the box knows this tx id but could not hand the receipt back yet: not a refusal.
      if (reply.code === 'replay') {
        throw new WalletError('ble', 'the box holds this payment but sent no receipt; try again', {
          remoteCode: reply.code,
        })
      }
      await wallet.markRefused(txId, reply.code)
      return { status: 'not_received' as const, payment, code: reply.code }
    }
    if (reply.kind !== 'receipt')
      throw new WalletError('ble', 'the box answered with something other than a receipt')
    const receipt = await wallet.acceptReceipt(payment, reply.receipt)
    return { status: 'received' as const, payment, receipt }
  })
}
