/**
 * Reading a double-spend proof the way an auditor would: take the two tokens the bridge kept, decode them,
 * and check for ourselves that they are two different payments at one wallet counter, both carrying a valid
 * wallet signature under an issuer-signed purse certificate — which no honest wallet can produce.
 */
import { decodeToken, makeKeyring, verifyToken } from '@opg/protocol'
import { nodeBackend as c } from '@opg/protocol/node'
import type { LocalStack } from './stack.js'

/** What the proof shows. */
export interface DoubleSpendProof {
  kind: string
  honoured: string
  refused: string
  counter: number
  /** Both tokens verify, name the same wallet and counter, and differ. */
  valid: boolean
}

/** The proof kept for a refused token, checked; undefined when the bridge kept none. */
export async function readDoubleSpendProof(
  stack: LocalStack,
  refusedTxId: string,
): Promise<DoubleSpendProof | undefined> {
  const r = await stack.bridge.db.query<{
    kind: string
    honoured_token: Buffer | null
    refused_token: Buffer
  }>('SELECT kind, honoured_token, refused_token FROM double_spend_proofs WHERE refused_tx_id = $1', [
    refusedTxId,
  ])
  const row = r.rows[0]
  if (!row?.honoured_token) return undefined
  const a = decodeToken(new Uint8Array(row.honoured_token))
  const b = decodeToken(new Uint8Array(row.refused_token))
  const keys = (await stack.operator.get('/v1/issuer/keys')).keys as { publicKey: string }[]
  const ring = makeKeyring(
    c,
    keys.map((k) => new Uint8Array(Buffer.from(k.publicKey, 'base64url'))),
  )
  let signed = true
  for (const token of [a, b]) {
    try {
      verifyToken(c, token, { issuerKeys: ring, nowS: Math.floor(Date.now() / 1000) })
    } catch {
      signed = false
    }
  }
  return {
    kind: row.kind,
    honoured: a.txId,
    refused: b.txId,
    counter: a.counter,
    valid: signed && a.counter === b.counter && a.cert.walletId === b.cert.walletId && a.txId !== b.txId,
  }
}
