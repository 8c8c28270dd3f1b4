package org.opg.wallet.protocol;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;

/** The merchant sticker (SPEC.md §7): {@code "OPGM:" || Base45('S' || node certificate || u8 len || name)}. */
public final class Sticker {
  public static final int TYPE = 0x53;
  public static final String PREFIX = "OPGM:";
  public static final int NAME_MAX = 48;
  private static final int MAX = 1 + NodeCertificate.LEN + 1 + NAME_MAX;
  public static final int TEXT_MAX = PREFIX.length() + ((MAX + 1) / 2) * 3;

  public final NodeCertificate nodeCert;
  /** Unsigned: a hint for people only. */
  public final String merchantName;

  public Sticker(NodeCertificate nodeCert, String merchantName) {
    this.nodeCert = nodeCert;
    this.merchantName = merchantName;
  }

  public String encode() throws ProtocolError {
    byte[] name = Bytes.utf8(merchantName);
    if (name.length > NAME_MAX) throw new ProtocolError("bad_field", "merchant name too long");
    byte[] b = new Bytes.Writer().u8(TYPE).raw(nodeCert.bytes(), NodeCertificate.LEN).u8(name.length).raw(name).finish();
    return PREFIX + Base45.encode(b);
  }

  /** Decode (no certificate check: the wallet verifies the node certificate against its keyring). */
  public static Sticker decode(String text) throws ProtocolError {
    if (text == null) throw new ProtocolError("bad_encoding", "sticker must be text");
    if (text.length() > TEXT_MAX) throw new ProtocolError("oversized", "sticker text too long");
    if (!text.startsWith(PREFIX)) throw new ProtocolError("bad_prefix", "sticker must start with " + PREFIX);
    Bytes.Reader r = new Bytes.Reader(Base45.decode(text.substring(PREFIX.length())), "sticker");
    ProtocolError.check(r.u8() == TYPE, "bad_type", "not a sticker");
    NodeCertificate cert = NodeCertificate.decode(r.bytes(NodeCertificate.LEN));
    int n = r.u8();
    ProtocolError.check(n <= NAME_MAX, "bad_field", "merchant name too long");
    byte[] name = r.bytes(n);
    r.end();
    return new Sticker(cert, strictUtf8(name));
  }

  static String strictUtf8(byte[] b) throws ProtocolError {
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    } catch (CharacterCodingException e) {
      throw new ProtocolError("bad_encoding", "not UTF-8", e);
    }
  }

  /** The BLE advertisement tag: the first 8 hex characters of the device id. */
  public static String deviceTag(String deviceId) {
    return deviceId.substring(0, 8);
  }
}
