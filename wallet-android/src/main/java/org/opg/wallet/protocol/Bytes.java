package org.opg.wallet.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** Byte helpers: hex, concatenation, UTF-8, constant-time comparison, big-endian reading and writing. */
public final class Bytes {
  private Bytes() {}

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  public static String hex(byte[] b) {
    char[] out = new char[b.length * 2];
    for (int i = 0; i < b.length; i++) {
      out[2 * i] = HEX[(b[i] >> 4) & 0xf];
      out[2 * i + 1] = HEX[b[i] & 0xf];
    }
    return new String(out);
  }

  /** Lowercase (or uppercase) hex to bytes; ProtocolError bad_encoding otherwise. */
  public static byte[] fromHex(String s) throws ProtocolError {
    if (s == null || s.length() % 2 != 0) throw new ProtocolError("bad_encoding", "hex of odd length");
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) {
      int hi = Character.digit(s.charAt(2 * i), 16);
      int lo = Character.digit(s.charAt(2 * i + 1), 16);
      if (hi < 0 || lo < 0) throw new ProtocolError("bad_encoding", "not hex");
      out[i] = (byte) ((hi << 4) | lo);
    }
    return out;
  }

  /** fromHex for constants and values this library wrote itself (a failure is a programming error). */
  public static byte[] unhex(String s) {
    try {
      return fromHex(s);
    } catch (ProtocolError e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  public static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    for (byte[] p : parts) o.write(p, 0, p.length);
    return o.toByteArray();
  }

  public static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  public static byte[] slice(byte[] b, int from, int to) {
    return java.util.Arrays.copyOfRange(b, from, to);
  }

  public static boolean equal(byte[] a, byte[] b) {
    return a != null && b != null && MessageDigest.isEqual(a, b);
  }

  /** Big-endian u32 of {@code b[off..off+4]} as a long. */
  public static long u32(byte[] b, int off) {
    return ((b[off] & 0xffL) << 24) | ((b[off + 1] & 0xffL) << 16) | ((b[off + 2] & 0xffL) << 8) | (b[off + 3] & 0xffL);
  }

  /** Sequential reader that refuses reading past the end ({@code truncated}) and leftovers ({@code trailing_bytes}). */
  public static final class Reader {
    private final byte[] b;
    private final String what;
    private int pos;

    public Reader(byte[] b, String what) {
      this.b = b;
      this.what = what;
    }

    public int u8() throws ProtocolError {
      need(1);
      return b[pos++] & 0xff;
    }

    public long u32() throws ProtocolError {
      need(4);
      long v = Bytes.u32(b, pos);
      pos += 4;
      return v;
    }

    public byte[] bytes(int n) throws ProtocolError {
      need(n);
      byte[] out = slice(b, pos, pos + n);
      pos += n;
      return out;
    }

    public int remaining() {
      return b.length - pos;
    }

    public void end() throws ProtocolError {
      if (pos != b.length) throw new ProtocolError("trailing_bytes", what + ": trailing bytes");
    }

    private void need(int n) throws ProtocolError {
      if (n < 0 || pos + n > b.length) throw new ProtocolError("truncated", what + ": truncated");
    }
  }

  /** Big-endian writer with range checks ({@code bad_field}). */
  public static final class Writer {
    private final ByteArrayOutputStream o = new ByteArrayOutputStream();

    public Writer u8(int v) {
      o.write(v);
      return this;
    }

    public Writer u32(long v) throws ProtocolError {
      if (v < 0 || v > 0xffffffffL) throw new ProtocolError("bad_field", "u32 out of range");
      o.write((int) (v >>> 24));
      o.write((int) (v >>> 16));
      o.write((int) (v >>> 8));
      o.write((int) v);
      return this;
    }

    public Writer raw(byte[] b, int len) throws ProtocolError {
      if (b == null || b.length != len) throw new ProtocolError("bad_length", "expected " + len + " bytes");
      o.write(b, 0, b.length);
      return this;
    }

    public Writer raw(byte[] b) {
      o.write(b, 0, b.length);
      return this;
    }

    public byte[] finish() {
      return o.toByteArray();
    }
  }
}
