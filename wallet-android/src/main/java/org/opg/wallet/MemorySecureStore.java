package org.opg.wallet;

import java.util.Map;
import java.util.TreeMap;

/** Volatile {@link SecureStore} for tests and demos: durable only as long as the object lives. */
public final class MemorySecureStore implements SecureStore {
  private final Map<String, byte[]> data = new TreeMap<>();

  @Override
  public synchronized byte[] get(String key) {
    byte[] v = data.get(key);
    return v == null ? null : v.clone();
  }

  @Override
  public synchronized void put(String key, byte[] value) {
    data.put(key, value.clone());
  }

  @Override
  public synchronized void delete(String key) {
    data.remove(key);
  }

  /** A byte-for-byte copy (what copying a phone's storage does). */
  public synchronized MemorySecureStore copy() {
    MemorySecureStore c = new MemorySecureStore();
    for (Map.Entry<String, byte[]> e : data.entrySet()) c.data.put(e.getKey(), e.getValue().clone());
    return c;
  }
}
