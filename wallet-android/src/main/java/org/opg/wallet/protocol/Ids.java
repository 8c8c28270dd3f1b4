package org.opg.wallet.protocol;

import java.util.regex.Pattern;

/** 8-byte ids (16 lowercase hex) and UUIDv7 transaction ids (SPEC.md §1). */
public final class Ids {
  private Ids() {}

  private static final Pattern ID8 = Pattern.compile("^[0-9a-f]{16}$");
  private static final Pattern UUID =
      Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");

  public static boolean isId8(String s) {
    return s != null && ID8.matcher(s).matches();
  }

  public static byte[] id8ToBytes(String id) throws ProtocolError {
    if (!isId8(id)) throw new ProtocolError("bad_field", "id must be 16 lowercase hex characters");
    return Bytes.fromHex(id);
  }

  public static boolean isUuidv7(String s) {
    return s != null && UUID.matcher(s).matches() && s.charAt(14) == '7' && "89ab".indexOf(s.charAt(19)) >= 0;
  }

  public static byte[] uuidToBytes(String id) throws ProtocolError {
    if (id == null || !UUID.matcher(id).matches()) throw new ProtocolError("bad_field", "not a canonical lowercase UUID");
    return Bytes.fromHex(id.replace("-", ""));
  }

  public static String bytesToUuid(byte[] b) throws ProtocolError {
    if (b.length != 16) throw new ProtocolError("bad_length", "UUID must be 16 bytes");
    String h = Bytes.hex(b);
    return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-" + h.substring(16, 20) + "-" + h.substring(20);
  }

  /** A UUIDv7 for {@code nowMs}: 48-bit ms time, version 7, variant 10, 74 random bits. */
  public static String uuidv7(long nowMs) {
    byte[] b = Crypto.randomBytes(16);
    long t = nowMs;
    for (int i = 5; i >= 0; i--) {
      b[i] = (byte) t;
      t >>>= 8;
    }
    b[6] = (byte) (0x70 | (b[6] & 0x0f));
    b[8] = (byte) (0x80 | (b[8] & 0x3f));
    try {
      return bytesToUuid(b);
    } catch (ProtocolError e) {
      throw new IllegalStateException(e);
    }
  }
}
