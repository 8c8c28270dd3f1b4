// The one function of sodium-native the bridge calls (the package ships no types).
declare module 'sodium-native' {
  const sodium: {
    /** libsodium crypto_sign_verify_detached: true when `signature` is `publicKey`'s Ed25519 signature of `message`. */
    crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  }
  export default sodium
}
