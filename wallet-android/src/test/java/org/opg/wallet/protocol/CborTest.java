package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The deterministic encoder against RFC 8949 Appendix A's examples and §4.2.1's rules, and the decoder's liberal
 * side (SPEC.md §8): every older or non-shortest form a box may have sent still decodes, to the same value.
 */
class CborTest {
  private static String enc(Object v) throws ProtocolError {
    return Bytes.hex(CborEncoder.encode(v));
  }

  private static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  @Test
  void integersTakeTheShortestHead() throws ProtocolError {
    long[] n = {0, 23, 24, 255, 256, 65535, 65536, 4294967295L, 4294967296L, 1767229260000L, 9007199254740991L, -1, -24, -25, -256, -257};
    String[] want = {"00", "17", "1818", "18ff", "190100", "19ffff", "1a00010000", "1affffffff", "1b0000000100000000",
      "1b0000019b771280e0", "1b001fffffffffffff", "20", "37", "3818", "38ff", "390100"};
    for (int i = 0; i < n.length; i++) assertEquals(want[i], enc(n[i]), "integer " + n[i]);
    assertEquals("182b", enc(43), "an Integer is an integer too");
    assertEquals("3842", enc(-67), "signal -67 is major type 1");
  }

  @Test
  void wholeDoublesAreIntegersOthersTheShortestFloat() throws ProtocolError {
    assertEquals("1b0000019b771280e0", enc(1767229260000.0), "a float64 time re-encodes as an integer");
    assertEquals("02", enc(2.0));
    assertEquals("00", enc(-0.0), "-0 is the integer 0, as in the reference encoder");
    assertEquals("f93e00", enc(1.5));
    assertEquals("f93c01", enc(1.0009765625));
    assertEquals("f90001", enc(5.960464477539063e-8), "smallest half subnormal");
    assertEquals("f93800", enc(0.5));
    assertEquals("fa47c35040", enc(100000.5), "past half precision's range");
    assertEquals("fa3f800001", enc((double) Float.intBitsToFloat(0x3f800001)));
    assertEquals("fb3ff199999999999a", enc(1.1));
    assertEquals("fa5a000000", enc(9007199254740992.0), "2^53 is past the integers every side can hold");
    assertEquals("fa5a000000", enc(9007199254740992L), "a Long past 2^53 - 1 as well, when a float holds it");
    assertEquals("fadf000000", enc(Long.MIN_VALUE));
    assertEquals("f97c00", enc(Double.POSITIVE_INFINITY));
    assertEquals("f9fc00", enc(Double.NEGATIVE_INFINITY));
    assertEquals("f97e00", enc(Double.NaN));
  }

  @Test
  void textBytesListsAndSimpleValues() throws ProtocolError {
    assertEquals("60", enc(""));
    assertEquals("6449455446", enc("IETF"));
    assertEquals("62c3bc", enc("\u00fc"));
    assertEquals("64f0908591", enc("\ud800\udd51"));
    assertEquals("4401020304", enc(new byte[] {1, 2, 3, 4}));
    assertEquals("8301820203820405", enc(Arrays.asList(1L, Arrays.asList(2L, 3L), Arrays.asList(4L, 5L))));
    assertEquals("f4", enc(false));
    assertEquals("f5", enc(true));
    assertEquals("f6", enc(null));
    assertEquals("a0", enc(Collections.emptyMap()));
  }

  @Test
  void mapKeysSortByTheirEncodedBytes() throws ProtocolError {
    // Shorter keys first, then bytewise: "v" < "at" < "batch" < "accepted" < "rejected" (not alphabetical).
    Map<String, Object> m = map("rejected", 0L, "accepted", 0L, "batch", 0L, "at", 0L, "v", 1L);
    assertEquals("a5617601626174006562617463680068616363657074656400687265" + "6a656374656400", enc(m));
    // "Z" (0x5a) before "a" (0x61); a 24-byte key (head 78 18) after every 23-byte one.
    String k24 = "aaaaaaaaaaaaaaaaaaaaaaaa";
    String k23 = "zzzzzzzzzzzzzzzzzzzzzzz";
    assertEquals(enc(map("Z", 1L, "a", 2L)), enc(map("a", 2L, "Z", 1L)));
    assertEquals("a2" + enc(k23) + "01" + enc(k24) + "02", enc(map(k24, 2L, k23, 1L)));
  }

  @Test
  void whatNoMessageCarriesIsRefused() {
    for (Object v : Arrays.asList(9007199254740993L, -9007199254740993L, Long.MAX_VALUE, "\ud800", new Object(), map("k", new int[0]))) {
      ProtocolError e = assertThrows(ProtocolError.class, () -> CborEncoder.encode(v), String.valueOf(v));
      assertEquals("bad_field", e.code());
    }
    Map<Object, Object> intKey = new LinkedHashMap<>();
    intKey.put(1L, 1L);
    assertEquals("bad_field", assertThrows(ProtocolError.class, () -> CborEncoder.encode(intKey)).code());
  }

  @Test
  void olderFormsDecodeToTheSameMessage() throws ProtocolError {
    Map<String, Object> want = map("v", 1L, "at", 1767229260000L);
    String canonical = enc(want);
    String[] older = {
      "b900026176016261741b0000019b771280e0", // 2-byte map head
      "a2617618016261741b0000019b771280e0", // non-shortest 1
      "a26176f93c00626174fb" + Bytes.hex(java.nio.ByteBuffer.allocate(8).putDouble(1767229260000.0).array()), // floats
      "bf6176016261741b0000019b771280e0ff", // indefinite map
      "a3617601626174" + "1b0000019b771280e0" + "667369676e616cf7", // undefined = absent
      "a27f6176ff01d8206261741b0000019b771280e0", // indefinite text key, tagged key
    };
    for (String o : older) {
      Object got = Cbor.decode(Bytes.unhex(o));
      assertEquals(1L, Cbor.asLong(((Map<?, ?>) got).get("v")), o);
      assertEquals(1767229260000L, Cbor.asLong(((Map<?, ?>) got).get("at")), o);
      assertEquals(canonical, enc(got), "re-encoded from " + o);
    }
    assertEquals(Arrays.asList(1L, 2L), Cbor.decode(Bytes.unhex("9f0102ff")));
    assertArrayEquals(new byte[] {1, 2, 3}, (byte[]) Cbor.decode(Bytes.unhex("5f4101420203ff")));
  }

  @Test
  void malformedInputIsATypedError() {
    String[][] cases = {
      {"f7", "bad_field"}, {"81f7", "bad_field"}, {"9f01", "truncated"}, {"5f6161ff", "bad_encoding"},
      {"5f5f4101ffff", "bad_encoding"}, {"1f", "bad_encoding"}, {"ff", "bad_encoding"}, {"a2616101616102", "bad_field"},
      {"a1010101", "bad_field"}, {"a1616101f7", "trailing_bytes"},
    };
    for (String[] c : cases) {
      ProtocolError e = assertThrows(ProtocolError.class, () -> Cbor.decode(Bytes.unhex(c[0])), c[0]);
      assertEquals(c[1], e.code(), c[0]);
    }
  }

  @Test
  void randomMessagesRoundTrip() throws ProtocolError {
    Random r = new Random(0x6f7067L);
    for (int i = 0; i < 300; i++) {
      Object v = random(r, 0);
      byte[] once = CborEncoder.encode(v);
      assertArrayEquals(once, CborEncoder.encode(Cbor.decode(once)), Bytes.hex(once));
    }
  }

  private static Object random(Random r, int depth) {
    switch (depth > 3 ? r.nextInt(5) : r.nextInt(7)) {
      case 0: return r.nextBoolean() ? (Object) (r.nextLong() >> r.nextInt(64) >> 11) : (Object) null;
      case 1: return r.nextBoolean() ? r.nextGaussian() * Math.pow(10, r.nextInt(12)) : (double) r.nextInt(1000) / 4;
      case 2: return Long.toString(r.nextLong(), 36);
      case 3: {
        byte[] b = new byte[r.nextInt(40)];
        r.nextBytes(b);
        return b;
      }
      case 4: return r.nextBoolean();
      case 5: {
        List<Object> l = new java.util.ArrayList<>();
        for (int i = r.nextInt(4); i > 0; i--) l.add(random(r, depth + 1));
        return l;
      }
      default: {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = r.nextInt(5); i > 0; i--) m.put(Long.toString(r.nextLong() >>> r.nextInt(64), 36), random(r, depth + 1));
        return m;
      }
    }
  }
}
