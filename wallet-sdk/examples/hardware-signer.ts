/**
 * Runnable: `npx tsx --conditions=@opg/source examples/hardware-signer.ts` (from wallet-sdk/).
 * A wallet whose key never leaves "hardware": the app implements `Signer` over its keystore (on Android, a
 * native module around an Android Keystore Ed25519 key, API 33+). The core only ever sees the public key and
 * signatures; storage holds no secret. Here the "keystore" is simulated with a closure.
 */
import { generateSigningKeyPair } from '@opg/protocol'
import { MemoryStorage, nobleBackend, type Signer, Wallet } from '@opg/wallet-sdk'

const c = nobleBackend

/** Stand-in for a native keystore: the secret lives only inside this closure. */
function simulatedKeystore(): Signer {
  const { secretKey, publicKey } = generateSigningKeyPair(c)
  return {
    publicKey,
    // A real module would call into the platform here (and may show a biometric prompt).
    sign: async (message) => c.ed25519Sign(secretKey, message),
  }
}

const storage = new MemoryStorage()
const signer = simulatedKeystore()
const wallet = await Wallet.create({ crypto: c, storage, signer })
console.log(`wallet key ${Buffer.from(wallet.publicKey).toString('hex')}`)
console.log(`secret in storage: ${JSON.parse((await storage.get('wallet')) ?? '{}').seed !== undefined}`) // false

// Reopen later with the same signer (the app gets it from its keystore again).
const reopened = await Wallet.open({ crypto: c, storage, signer })
console.log(`reopened: ${reopened.publicKey.length === 32}`)
