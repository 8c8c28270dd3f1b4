package org.opg.wallet.protocol;

/** Base45 (RFC 9285), strict: every malformed input is ProtocolError {@code bad_encoding}. */
public final class Base45 {
  private Base45() {}

  private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  public static String encode(byte[] b) {
    StringBuilder s = new StringBuilder((b.length / 2) * 3 + 2);
    for (int i = 0; i + 1 < b.length; i += 2) {
      int n = (b[i] & 0xff) * 256 + (b[i + 1] & 0xff);
      s.append(ALPHABET.charAt(n % 45)).append(ALPHABET.charAt((n / 45) % 45)).append(ALPHABET.charAt(n / 2025));
    }
    if (b.length % 2 == 1) {
      int n = b[b.length - 1] & 0xff;
      s.append(ALPHABET.charAt(n % 45)).append(ALPHABET.charAt(n / 45));
    }
    return s.toString();
  }

  public static byte[] decode(String s) throws ProtocolError {
    if (s.length() % 3 == 1) throw new ProtocolError("bad_encoding", "base45 length must not be 1 mod 3");
    byte[] out = new byte[(s.length() / 3) * 2 + (s.length() % 3 == 2 ? 1 : 0)];
    int o = 0;
    for (int i = 0; i < s.length(); i += 3) {
      if (i + 2 < s.length()) {
        int n = val(s, i) + val(s, i + 1) * 45 + val(s, i + 2) * 2025;
        if (n > 0xffff) throw new ProtocolError("bad_encoding", "base45 triple out of range");
        out[o++] = (byte) (n >> 8);
        out[o++] = (byte) n;
      } else {
        int n = val(s, i) + val(s, i + 1) * 45;
        if (n > 0xff) throw new ProtocolError("bad_encoding", "base45 pair out of range");
        out[o++] = (byte) n;
      }
    }
    return out;
  }

  private static int val(String s, int i) throws ProtocolError {
    int v = ALPHABET.indexOf(s.charAt(i));
    if (v < 0) throw new ProtocolError("bad_encoding", "invalid base45 character at " + i);
    return v;
  }
}
