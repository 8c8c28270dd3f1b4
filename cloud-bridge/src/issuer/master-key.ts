/**
 * The bridge master key: seals secrets before they reach the database (issuer secret keys; device secrets)
 * with AES-128-GCM through the protocol's crypto backend. Sealed form: 12-byte random nonce || ciphertext ||
 * 16-byte tag. The associated data names the row (e.g. `issuer:<tenant>:<key id>`), so a sealed secret
 * copied into another row does not open. There is no default key: the bridge must be given one.
 */
import { readFileSync } from 'node:fs'
import type { CryptoBackend } from '@opg/protocol'
import { BridgeError } from '../api/errors.js'
import { IssuerError } from './errors.js'

/** Anything that seals and opens small secrets bound to a label. */
export interface SecretSealer {
  seal(plain: Uint8Array, aad: string): Uint8Array
  open(sealed: Uint8Array, aad: string): Uint8Array
}

const NONCE = 12
const TAG = 16

/** A 16-byte AES-128-GCM master key. */
export class MasterKey implements SecretSealer {
  readonly #c: CryptoBackend
  readonly #key: Uint8Array

  constructor(c: CryptoBackend, key: Uint8Array) {
    if (key.length !== 16) throw new IssuerError('bad_master_key', 'the master key must be 16 bytes')
    this.#c = c
    this.#key = Uint8Array.from(key)
  }

  /**
   * Parse a master key given as 32 hex characters or base64/base64url of 16 bytes (e.g. the contents of
   * OPG_MASTER_KEY or a key file). Surrounding whitespace is ignored.
   */
  static parse(c: CryptoBackend, text: string | undefined): MasterKey {
    const s = (text ?? '').trim()
    if (s === '') throw new IssuerError('bad_master_key', 'no master key configured')
    let bytes: Uint8Array
    if (/^[0-9a-fA-F]{32}$/.test(s)) bytes = Buffer.from(s, 'hex')
    else if (/^[A-Za-z0-9+/_-]{22}={0,2}$/.test(s)) bytes = Buffer.from(s, 'base64')
    else throw new IssuerError('bad_master_key', 'master key must be 32 hex characters or base64 of 16 bytes')
    return new MasterKey(c, bytes)
  }

  seal(plain: Uint8Array, aad: string): Uint8Array {
    const nonce = this.#c.randomBytes(NONCE)
    const sealed = this.#c.aesGcmSeal(this.#key, nonce, plain, Buffer.from(aad, 'utf8'))
    const out = new Uint8Array(NONCE + sealed.length)
    out.set(nonce, 0)
    out.set(sealed, NONCE)
    return out
  }

  open(sealed: Uint8Array, aad: string): Uint8Array {
    if (sealed.length < NONCE + TAG) throw new IssuerError('unseal_failed', 'sealed secret too short')
    try {
      return this.#c.aesGcmOpen(
        this.#key,
        sealed.subarray(0, NONCE),
        sealed.subarray(NONCE),
        Buffer.from(aad, 'utf8'),
      )
    } catch (err) {
      throw new IssuerError('unseal_failed', 'sealed secret did not open (wrong master key or moved row)', {
        cause: err,
      })
    }
  }
}

/** Read the master key file; there is no default key, so a missing file refuses to start. */
export function loadMasterKey(c: CryptoBackend, file: string | null): MasterKey {
  if (!file)
    throw new BridgeError(
      'not_configured',
      'no master key file: set OPG_MASTER_KEY_FILE (opg-bridge issuer init)',
    )
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new BridgeError('not_configured', `cannot read master key file ${file}`, { cause: err })
  }
  return MasterKey.parse(c, text)
}
