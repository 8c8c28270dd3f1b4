// The functions of sodium-native the bridge calls (the package ships no types).
declare module 'sodium-native' {
  const sodium: {
    /** libsodium crypto_sign_verify_detached: true when `signature` is `publicKey`'s Ed25519 signature of `message`. */
    crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
    /** libsodium crypto_hash_sha256: SHA-256 of `input` into `output` (32 bytes). */
    crypto_hash_sha256(output: Uint8Array, input: Uint8Array): void
  }
  export default sodium
}
