package org.opg.wallet.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Deterministic CBOR (RFC 8949 §4.2.1) as SPEC.md §8 requires of every sender, byte for byte the same as
 * protocol/src/cbor.ts: shortest heads, definite lengths, no tags; every number with an integral value within
 * ±(2^53 − 1) as a CBOR integer (so a Double 2.0 is {@code 02}, a unix-ms time {@code 1b} and 8 bytes); any other
 * number as the shortest of float16/32/64 that keeps its value; map keys sorted by the bytewise order of their
 * encodings. An absent field is a key missing from the map; a null value is CBOR null ({@code f6}), which only
 * {@code config} values may carry.
 *
 * <p>Accepted values: null, Boolean, Byte/Short/Integer/Long, Float/Double, String (well-formed UTF-16), byte[],
 * List, and Map with String keys. Anything else, and a Long beyond ±(2^53 − 1) that no float holds exactly (the
 * reference, holding numbers as doubles, cannot represent it), is ProtocolError bad_field.
 */
public final class CborEncoder {
  /** 2^53 − 1: the largest integer every implementation encodes (and JavaScript represents) exactly. */
  public static final long MAX_SAFE_INTEGER = 9007199254740991L;
  private static final int MAX_DEPTH = 64;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  private CborEncoder() {}

  /** The deterministic encoding of {@code value}. */
  public static byte[] encode(Object value) throws ProtocolError {
    CborEncoder e = new CborEncoder();
    e.item(value, 0);
    return e.out.toByteArray();
  }

  private void head(int major, long n) {
    int m = major << 5;
    if (n < 24) {
      out.write(m | (int) n);
    } else if (n < 0x100) {
      out.write(m | 24);
      out.write((int) n);
    } else if (n < 0x10000) {
      out.write(m | 25);
      be(n, 2);
    } else if (n < 0x100000000L) {
      out.write(m | 26);
      be(n, 4);
    } else {
      out.write(m | 27);
      be(n, 8);
    }
  }

  private void be(long v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) out.write((int) (v >>> (8 * i)) & 0xff);
  }

  private void integer(long v) {
    if (v >= 0) head(0, v);
    else head(1, -1 - v);
  }

  private void number(double x) {
    if (x == Math.rint(x) && Math.abs(x) <= MAX_SAFE_INTEGER) {
      integer((long) x); // -0.0 too: it is the integer 0, as in JavaScript
      return;
    }
    int half = toHalf(x);
    if (half >= 0) {
      out.write(0xf9);
      be(half, 2);
    } else if ((double) (float) x == x) {
      out.write(0xfa);
      be(Float.floatToIntBits((float) x), 4);
    } else {
      out.write(0xfb);
      be(Double.doubleToLongBits(x), 8);
    }
  }

  /** IEEE 754 half-precision bits of {@code x} when they keep its value exactly, else −1. NaN is {@code 7e00}. */
  static int toHalf(double x) {
    if (Double.isNaN(x)) return 0x7e00;
    float f = (float) x;
    if (f != x && !Double.isInfinite(x)) return -1;
    int bits = Float.floatToIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) return sign | 0x7c00;
    if (exp == 0 && mant == 0) return sign;
    int e = exp - 127;
    if (e >= -14 && e <= 15) return (mant & 0x1fff) != 0 ? -1 : sign | ((e + 15) << 10) | (mant >>> 13);
    double units = Math.abs(x) * 16777216.0; // subnormal half: |x| = k · 2^-24, k in 1..1023
    if (e < -14 && units == Math.rint(units) && units < 1024) return sign | (int) units;
    return -1;
  }

  private static byte[] utf8(String s) throws ProtocolError {
    try {
      ByteBuffer b = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).encode(java.nio.CharBuffer.wrap(s));
      byte[] out = new byte[b.remaining()];
      b.get(out);
      return out;
    } catch (CharacterCodingException e) {
      throw new ProtocolError("bad_field", "text is not well-formed Unicode");
    }
  }

  private void item(Object v, int depth) throws ProtocolError {
    if (depth > MAX_DEPTH) throw new ProtocolError("bad_field", "CBOR value nested too deeply");
    if (v == null) {
      out.write(0xf6);
    } else if (v instanceof Boolean) {
      out.write((Boolean) v ? 0xf5 : 0xf4);
    } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      long n = ((Number) v).longValue();
      if (n >= -MAX_SAFE_INTEGER && n <= MAX_SAFE_INTEGER) {
        integer(n);
      } else {
        // Beyond ±(2^53 − 1) the reference holds numbers as doubles: a float when one keeps the value exactly.
        double d = n;
        if (d == 0x1p63 || (long) d != n) throw new ProtocolError("bad_field", "integer " + n + " has no exact CBOR form here");
        number(d);
      }
    } else if (v instanceof Double || v instanceof Float) {
      number(((Number) v).doubleValue());
    } else if (v instanceof String) {
      byte[] b = utf8((String) v);
      head(3, b.length);
      out.write(b, 0, b.length);
    } else if (v instanceof byte[]) {
      byte[] b = (byte[]) v;
      head(2, b.length);
      out.write(b, 0, b.length);
    } else if (v instanceof List) {
      List<?> list = (List<?>) v;
      head(4, list.size());
      for (Object e : list) item(e, depth + 1);
    } else if (v instanceof Map) {
      map((Map<?, ?>) v, depth);
    } else {
      throw new ProtocolError("bad_field", "no CBOR form for a " + v.getClass().getSimpleName());
    }
  }

  private void map(Map<?, ?> m, int depth) throws ProtocolError {
    List<byte[][]> entries = new ArrayList<>(m.size());
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (!(e.getKey() instanceof String)) throw new ProtocolError("bad_field", "CBOR map keys must be text");
      CborEncoder value = new CborEncoder();
      value.item(e.getValue(), depth + 1);
      entries.add(new byte[][] {encode(e.getKey()), value.out.toByteArray()});
    }
    entries.sort((a, b) -> compareBytes(a[0], b[0]));
    head(5, entries.size());
    for (byte[][] e : entries) {
      out.write(e[0], 0, e[0].length);
      out.write(e[1], 0, e[1].length);
    }
  }

  /** Bytewise (unsigned, then shorter first) order: RFC 8949 §4.2.1's order of map keys. */
  static int compareBytes(byte[] a, byte[] b) {
    int n = Math.min(a.length, b.length);
    for (int i = 0; i < n; i++) {
      int d = (a[i] & 0xff) - (b[i] & 0xff);
      if (d != 0) return d;
    }
    return a.length - b.length;
  }
}
