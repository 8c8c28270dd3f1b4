/**
 * Where the wallet keeps its state: a tiny key-value interface the app supplies, so a phone can back it with
 * its secure storage (Android Keystore-wrapped EncryptedSharedPreferences, iOS Keychain, expo-secure-store…)
 * and Node with the encrypted file store in `@opg/wallet-sdk/node`.
 *
 * The wallet's safety rules rely on one property only: when `set` resolves, the value is durable (a crash
 * after that point cannot lose it). Each `set` replaces one key's value atomically.
 */

/** A durable key-value store of strings. `set` must not resolve before the value survives a power cut. */
export interface WalletStorage {
  /** The stored value; a missing key may be `undefined` or `null` (what most platform stores return). */
  get(key: string): Promise<string | null | undefined>
  set(key: string, value: string): Promise<void>
  delete(key: string): Promise<void>
}

/** Volatile storage for tests and demos: durable only as long as the object lives. */
export class MemoryStorage implements WalletStorage {
  readonly #data = new Map<string, string>()

  async get(key: string): Promise<string | undefined> {
    return this.#data.get(key)
  }

  async set(key: string, value: string): Promise<void> {
    this.#data.set(key, value)
  }

  async delete(key: string): Promise<void> {
    this.#data.delete(key)
  }

  /** Every key currently held (for tests that look at what the wallet wrote). */
  keys(): string[] {
    return [...this.#data.keys()]
  }
}
