package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small accessors over parsed vector JSON, and the comparison of decoded CBOR with a JSON expectation. */
final class V {
  private V() {}

  @SuppressWarnings("unchecked")
  static Map<String, Object> o(Map<String, Object> m, String k) {
    return (Map<String, Object>) m.get(k);
  }

  @SuppressWarnings("unchecked")
  static List<Object> a(Map<String, Object> m, String k) {
    return (List<Object>) m.get(k);
  }

  static String s(Map<String, Object> m, String k) {
    return (String) m.get(k);
  }

  static long n(Map<String, Object> m, String k) {
    return ((Number) m.get(k)).longValue();
  }

  static byte[] h(Map<String, Object> m, String k) {
    return Bytes.unhex(s(m, k));
  }

  static Map<String, byte[]> keyring(Map<String, Object> opg) {
    Map<String, byte[]> k = new LinkedHashMap<>();
    Map<String, Object> keys = o(opg, "keys");
    k.put(s(keys, "issuerKeyId"), h(keys, "issuerPublic"));
    return k;
  }

  /** Decoded CBOR equals the JSON expectation: numbers by value, byte strings as hex, maps key by key. */
  static void assertCborEquals(Object expected, Object actual, String path) {
    if (expected instanceof Map) {
      Map<?, ?> e = (Map<?, ?>) expected;
      Map<?, ?> got = (Map<?, ?>) actual;
      assertEquals(e.keySet(), got.keySet(), path + ": keys");
      for (Object k : e.keySet()) assertCborEquals(e.get(k), got.get(k), path + "." + k);
    } else if (expected instanceof List) {
      List<?> e = (List<?>) expected;
      List<?> got = (List<?>) actual;
      assertEquals(e.size(), got.size(), path + ": length");
      for (int i = 0; i < e.size(); i++) assertCborEquals(e.get(i), got.get(i), path + "[" + i + "]");
    } else if (expected instanceof Number) {
      assertEquals(((Number) expected).doubleValue(), ((Number) actual).doubleValue(), path);
    } else if (actual instanceof byte[]) {
      assertEquals(expected, Bytes.hex((byte[]) actual), path);
    } else {
      assertEquals(expected, actual, path);
    }
  }
}
