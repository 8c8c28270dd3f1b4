package org.opg.wallet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link SecureStore} adapter must pass (the Android Keystore adapter included): extend this
 * class, make a store in {@link #open}, and (when the adapter persists) reopen the same store and tamper with it.
 */
public abstract class SecureStoreContract {
  /** A fresh, empty store. */
  protected abstract SecureStore open() throws IOException;

  /** The same store as a new process would see it (after a restart); null for volatile stores. */
  protected abstract SecureStore reopen() throws IOException;

  /** Change one stored byte of {@code key} on the medium; false when the adapter has no medium to tamper with. */
  protected abstract boolean tamper(String key) throws IOException;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void missingKeyIsNull() throws IOException {
    assertNull(open().get("nothing"));
  }

  @Test
  void putThenGetReturnsTheValue() throws IOException {
    SecureStore s = open();
    s.put("wallet", b("one"));
    assertArrayEquals(b("one"), s.get("wallet"));
    s.put("wallet", b("two, longer"));
    assertArrayEquals(b("two, longer"), s.get("wallet"));
    s.put("empty", new byte[0]);
    assertArrayEquals(new byte[0], s.get("empty"));
  }

  @Test
  void keysAreIndependent() throws IOException {
    SecureStore s = open();
    s.put("a", b("1"));
    s.put("b", b("2"));
    s.delete("a");
    assertNull(s.get("a"));
    assertArrayEquals(b("2"), s.get("b"));
    s.delete("a");
  }

  @Test
  void valuesSurviveARestart() throws IOException {
    SecureStore s = open();
    s.put("wallet", b("durable"));
    SecureStore again = reopen();
    if (again == null) return;
    assertArrayEquals(b("durable"), again.get("wallet"));
  }

  @Test
  void aTamperedValueIsAnErrorNotOtherBytes() throws IOException {
    SecureStore s = open();
    s.put("wallet", b("{\"v\":1}"));
    if (!tamper("wallet")) return;
    assertThrows(IOException.class, () -> reopen().get("wallet"));
  }

  @Test
  void aLargeValueRoundTrips() throws IOException {
    SecureStore s = open();
    byte[] big = new byte[1 << 20];
    new java.util.Random(7).nextBytes(big);
    s.put("log", big);
    assertArrayEquals(big, s.get("log"));
  }
}
