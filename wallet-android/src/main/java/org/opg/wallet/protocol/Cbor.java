package org.opg.wallet.protocol;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small CBOR (RFC 8949) decoder for the MQTT messages of SPEC.md §8: maps with text keys, arrays, text,
 * byte strings, integers, floats, booleans and null. Unsigned integers become Long (or Double past 2^63),
 * floats Double. Liberal as §8 asks of receivers: heads in any width (the older {@code b9 0003} map headers),
 * float times, indefinite lengths, tags (skipped), and {@code undefined} ({@code f7}) as a map value, which is an
 * absent field (the key is left out). Senders use {@link CborEncoder}. Bounded depth and sizes; every malformed
 * input is ProtocolError bad_encoding or truncated.
 */
public final class Cbor {
  private final byte[] b;
  private int pos;
  private static final int MAX_DEPTH = 16;
  private static final int BREAK = 0xff;
  /** What {@code f7} decodes to inside the decoder; never returned. */
  private static final Object UNDEFINED = new Object();

  private Cbor(byte[] b) {
    this.b = b;
  }

  /** Decode exactly one item covering all of {@code data}. */
  public static Object decode(byte[] data) throws ProtocolError {
    Cbor c = new Cbor(data);
    Object v = c.item(0);
    if (v == UNDEFINED) throw new ProtocolError("bad_field", "CBOR undefined outside a map");
    if (c.pos != data.length) throw new ProtocolError("trailing_bytes", "bytes after the CBOR item");
    return v;
  }

  private int u8() throws ProtocolError {
    if (pos >= b.length) throw new ProtocolError("truncated", "CBOR truncated");
    return b[pos++] & 0xff;
  }

  private long arg(int info) throws ProtocolError {
    if (info < 24) return info;
    int n;
    switch (info) {
      case 24: n = 1; break;
      case 25: n = 2; break;
      case 26: n = 4; break;
      case 27: n = 8; break;
      default: throw new ProtocolError("bad_encoding", "indefinite or reserved CBOR length");
    }
    long v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | u8();
    return v;
  }

  private int length(int info) throws ProtocolError {
    long n = arg(info);
    if (n < 0 || n > b.length - pos) throw new ProtocolError("truncated", "CBOR length past the end");
    return (int) n;
  }

  private Object item(int depth) throws ProtocolError {
    if (depth > MAX_DEPTH) throw new ProtocolError("bad_encoding", "CBOR nested too deep");
    int ib = u8();
    int major = ib >> 5;
    int info = ib & 0x1f;
    switch (major) {
      case 0: {
        long v = arg(info);
        return v >= 0 ? (Object) v : (Object) unsignedToDouble(v);
      }
      case 1: {
        long v = arg(info);
        if (v < 0) throw new ProtocolError("bad_field", "negative integer out of range");
        return -1 - v;
      }
      case 2:
      case 3: {
        byte[] raw = info == 31 ? chunks(major) : take(length(info));
        return major == 2 ? raw : Sticker.strictUtf8(raw);
      }
      case 4: {
        List<Object> list = new ArrayList<>();
        long n = info == 31 ? -1 : length(info);
        for (long i = 0; n < 0 ? !atBreak() : i < n; i++) {
          Object v = item(depth + 1);
          if (v == UNDEFINED) throw new ProtocolError("bad_field", "CBOR undefined outside a map");
          list.add(v);
        }
        return list;
      }
      case 5: {
        Map<String, Object> map = new LinkedHashMap<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        long n = info == 31 ? -1 : length(info);
        for (long i = 0; n < 0 ? !atBreak() : i < n; i++) {
          Object k = item(depth + 1);
          if (!(k instanceof String)) throw new ProtocolError("bad_field", "CBOR map key is not text");
          if (!seen.add((String) k)) throw new ProtocolError("bad_field", "duplicate CBOR map key");
          Object v = item(depth + 1);
          if (v != UNDEFINED) map.put((String) k, v);
        }
        return map;
      }
      case 6:
        arg(info);
        return item(depth + 1);
      default:
        return simple(info);
    }
  }

  private byte[] take(int n) {
    byte[] out = Bytes.slice(b, pos, pos + n);
    pos += n;
    return out;
  }

  /** True (and the break consumed) when the next byte ends an indefinite-length item. */
  private boolean atBreak() throws ProtocolError {
    if (pos >= b.length) throw new ProtocolError("truncated", "CBOR truncated");
    if ((b[pos] & 0xff) != BREAK) return false;
    pos++;
    return true;
  }

  /** An indefinite-length byte or text string: definite chunks of the same major type up to the break. */
  private byte[] chunks(int major) throws ProtocolError {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    while (!atBreak()) {
      int ib = u8();
      if (ib >> 5 != major || (ib & 0x1f) == 31) throw new ProtocolError("bad_encoding", "bad indefinite string chunk");
      byte[] part = take(length(ib & 0x1f));
      out.write(part, 0, part.length);
    }
    return out.toByteArray();
  }

  private Object simple(int info) throws ProtocolError {
    switch (info) {
      case 20: return Boolean.FALSE;
      case 21: return Boolean.TRUE;
      case 22: return null;
      case 23: return UNDEFINED;
      case 25: return (double) halfToFloat((int) arg(25));
      case 26: return (double) Float.intBitsToFloat((int) arg(26));
      case 27: return Double.longBitsToDouble(arg(27));
      default: throw new ProtocolError("bad_encoding", "unsupported CBOR simple value");
    }
  }

  private static double unsignedToDouble(long v) {
    return (double) (v >>> 1) * 2.0 + (v & 1);
  }

  private static float halfToFloat(int h) {
    int exp = (h >> 10) & 0x1f;
    int mant = h & 0x3ff;
    float v = exp == 0 ? mant * (float) Math.pow(2, -24) : exp != 31 ? (mant + 1024) * (float) Math.pow(2, exp - 25)
        : (mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN);
    return (h & 0x8000) != 0 ? -v : v;
  }

  /** A whole-number value (integer, or float holding a whole number) as a long; bad_field otherwise. */
  public static long asLong(Object v) throws ProtocolError {
    if (v instanceof Long) return (Long) v;
    if (v instanceof Double) {
      double d = (Double) v;
      if (d == Math.rint(d) && Math.abs(d) <= 9007199254740991.0) return (long) d;
    }
    throw new ProtocolError("bad_field", "expected an integer");
  }
}
