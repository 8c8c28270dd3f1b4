/**
 * Test vectors for the box ↔ bridge messages (SPEC.md §8) and the BLE framing (SPEC.md §10): every message's
 * deterministic CBOR and its sealed payload, one message in the older non-canonical encoding that decoders must
 * still read, a BLE error message, chunking at two MTUs and the State write. `npm run vectors -w protocol`
 * writes test-vectors/opg-v1-messages.json; test/message-vectors.test.ts rebuilds it byte for byte.
 */
import { Encoder } from 'cbor-x'
import type { z } from 'zod'
import {
  AckSchema,
  boxRespond,
  CommandSchema,
  type CryptoBackend,
  chunkMessage,
  deriveKey,
  encodeInner,
  encodeMessage,
  fromHex,
  keyId,
  StatusSchema,
  sealMqtt,
  sessionStartWrite,
  type TopicKind,
  TxBatchSchema,
  toHex,
  topic,
  walletFinish,
  walletHello,
} from '../src/index.js'
import { FIXED, fixedNodeCertificate, fixedSecret } from './vectors.js'

/** The encoder boxes used before SPEC.md §8 required deterministic CBOR (2-byte map headers, float64 times). */
const legacyEncoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true })

/** Nonce number i: bytes i, i+1, … i+11. 0, 12 and 13 are taken by opg-v1.json and opg-v1-commands.json. */
const nonce = (i: number) => Uint8Array.from({ length: 12 }, (_, k) => i + k)

export function buildMessageVectors(c: CryptoBackend) {
  const mqttKey = deriveKey(c, fromHex(FIXED.deviceSecret), 'mqtt', fromHex(FIXED.deviceId))
  let next = 14
  function vector<T>(kind: TopicKind, schema: z.ZodType<T>, message: T) {
    const t = topic(FIXED.tenantId, FIXED.deviceId, kind)
    const n = nonce(next++)
    return {
      topic: t,
      message,
      cbor: toHex(encodeMessage(schema, message)),
      nonce: toHex(n),
      sealed: toHex(sealMqtt(c, mqttKey, t, schema, message, n)),
    }
  }
  const cmd = { v: 1 as const, id: '01890a5d-ac96-774b-bcce-b302099a8060' }
  const legacyBatch = {
    v: 1 as const,
    batch: '01890a5d-ac96-774b-bcce-b302099a8058',
    records: [
      {
        token: fixedSecret(c, 'legacy token'),
        receipt: fixedSecret(c, 'legacy receipt'),
        channel: 'ble' as const,
        acceptedAt: 1_767_229_201_000,
      },
    ],
  }

  // BLE: the session of opg-v1.json's `ble` vector, the box refusing the token instead of answering a receipt.
  const hs = walletHello(c, fixedSecret(c, 'ble wallet ephemeral'))
  const issuer = c.ed25519PublicKey(fixedSecret(c, 'issuer'))
  const box = boxRespond(
    c,
    { signingSecret: fixedSecret(c, 'node signing'), cert: fixedNodeCertificate(c) },
    hs.message,
    fixedSecret(c, 'ble box ephemeral'),
    fixedSecret(c, 'ble challenge').slice(0, 8),
  )
  walletFinish(c, hs, box.message, { issuerKeys: new Map([[keyId(c, issuer), issuer]]) })
  const sealedError = box.cipher.seal(encodeInner({ kind: 'reject', code: 'bad_challenge' }))

  return {
    description:
      'Messages of SPEC.md §8 as deterministic CBOR (RFC 8949 §4.2.1) and sealed with the mqtt key of opg-v1.json ' +
      'kdf; BLE messages of SPEC.md §10 from the fixed session of opg-v1.json ble.',
    ack: vector('down/ack', AckSchema, {
      v: 1,
      batch: '01890a5d-ac96-774b-bcce-b302099a8058',
      accepted: ['01890a5d-ac96-774b-bcce-b302099a8057'],
      rejected: [{ tx: '01890a5d-ac96-774b-bcce-b302099a8059', code: 'double_spend' }],
    }),
    status: vector('up/status', StatusSchema, {
      v: 1,
      online: true,
      session: '5e55105e55105e55',
      at: 1_767_229_260_000,
      pending: 2,
      pendingAmount: { INR: 19_50 },
      storageBytes: 123_456,
      version: '0.1.0',
      signal: -67,
      clock: 'trusted',
      revocations: 3,
    }),
    lastWill: vector('up/status', StatusSchema, { v: 1, online: false, session: '5e55105e55105e55' }),
    commands: {
      config: vector('down/cmd', CommandSchema, {
        ...cmd,
        seq: 43,
        type: 'config',
        config: { exposure: { perWalletDaily: 500_00 }, beep: true, name: 'Asha Tea Stall' },
      }),
      invoicePaid: vector('down/cmd', CommandSchema, {
        ...cmd,
        id: '01890a5d-ac96-774b-bcce-b302099a8061',
        seq: 44,
        type: 'invoice_paid',
        ref: 'INV-1001',
        amount: 250_00,
        currency: 'INR',
        counter: 7,
      }),
      syncNow: vector('down/cmd', CommandSchema, {
        ...cmd,
        id: '01890a5d-ac96-774b-bcce-b302099a8062',
        seq: 45,
        type: 'sync_now',
      }),
    },
    legacy: {
      description:
        'A TxBatch as boxes encoded it before deterministic CBOR; decoders must accept it. canonical is the same ' +
        'message re-encoded by the rules of SPEC.md §8. Byte strings of message are shown as hex.',
      message: {
        ...legacyBatch,
        records: legacyBatch.records.map((r) => ({ ...r, token: toHex(r.token), receipt: toHex(r.receipt) })),
      },
      cbor: toHex(new Uint8Array(legacyEncoder.encode(legacyBatch))),
      canonical: toHex(encodeMessage(TxBatchSchema, legacyBatch)),
    },
    ble: {
      error: { code: 'bad_challenge', inner: toHex(encodeInner({ kind: 'reject', code: 'bad_challenge' })) },
      sealedError: toHex(sealedError),
      stateWrite: {
        mtu185: toHex(sessionStartWrite(hs.message, 185)),
        mtu23: toHex(sessionStartWrite(hs.message, 23)),
        helloChunksMtu23: chunkMessage(hs.message, 23).map(toHex),
      },
      chunks: {
        message: toHex(sealedError),
        mtu23: chunkMessage(sealedError, 23).map(toHex),
        mtu185: chunkMessage(sealedError, 185).map(toHex),
      },
    },
  }
}
