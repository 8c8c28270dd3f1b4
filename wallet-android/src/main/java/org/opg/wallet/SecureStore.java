package org.opg.wallet;

import java.io.IOException;

/**
 * Where the wallet keeps its state: a tiny durable key-value store of byte strings the app supplies (Android:
 * a file sealed with a Keystore AES key; the JVM: {@link FileSecureStore}). The wallet's safety rules rely on:
 *
 * <ol>
 *   <li>{@code put} returns only once the value survives a crash or power cut (fsync, not just a write);
 *   <li>{@code put} replaces a key's value atomically: a reader sees the old value or the new one, never a mix;
 *   <li>{@code get} of a key never written (or deleted) returns null;
 *   <li>values are confidential at rest (they hold the wallet seed and API key) and a tampered value fails
 *       {@code get} with an IOException instead of returning other bytes.
 * </ol>
 *
 * {@code SecureStoreContract} in the tests checks all four; every adapter must pass it.
 */
public interface SecureStore {
  byte[] get(String key) throws IOException;

  void put(String key, byte[] value) throws IOException;

  void delete(String key) throws IOException;
}
