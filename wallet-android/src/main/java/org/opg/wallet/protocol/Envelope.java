package org.opg.wallet.protocol;

/**
 * The token envelope and its QR text (SPEC.md §5): {@code 0x01 || keyId(box X25519 key) || enc || HPKE ciphertext},
 * shown as {@code "OPG1:" || Base45(envelope)}.
 */
public final class Envelope {
  private Envelope() {}

  public static final int VERSION = 0x01;
  public static final int OVERHEAD = 1 + 4 + 32 + 16;
  public static final int MAX = PaymentToken.LEN_CHALLENGE + OVERHEAD;
  public static final String QR_PREFIX = "OPG1:";
  /** Longest QR text accepted before any decoding work. */
  public static final int QR_TEXT_MAX = QR_PREFIX.length() + ((MAX + 1) / 2) * 3;
  private static final byte[] INFO = Bytes.utf8("opg/v1 token envelope");

  /** Encrypt signed token bytes to the box's X25519 key; {@code ephemeralSecret} null except in tests. */
  public static byte[] seal(byte[] nodeEncryptionKey, byte[] token, byte[] ephemeralSecret) throws ProtocolError {
    byte[] header = Bytes.concat(new byte[] {VERSION}, Crypto.keyIdBytes(nodeEncryptionKey));
    return Bytes.concat(header, Hpke.seal(nodeEncryptionKey, INFO, header, token, ephemeralSecret));
  }

  /** The box's side: decrypt with its X25519 key pair (oversized, bad_version, unknown_key, truncated, bad_tag). */
  public static byte[] open(byte[] secretKey, byte[] publicKey, byte[] env) throws ProtocolError {
    if (env.length > MAX) throw new ProtocolError("oversized", "envelope too long");
    Bytes.Reader r = new Bytes.Reader(env, "envelope");
    ProtocolError.check(r.u8() == VERSION, "bad_version", "unknown envelope version");
    if (!Bytes.equal(r.bytes(4), Crypto.keyIdBytes(publicKey))) {
      throw new ProtocolError("unknown_key", "envelope is for another box key");
    }
    byte[] enc = r.bytes(32);
    ProtocolError.check(r.remaining() >= 16, "truncated", "envelope: truncated");
    byte[] ct = r.bytes(r.remaining());
    return Hpke.open(enc, secretKey, publicKey, INFO, Bytes.slice(env, 0, 5), ct);
  }

  public static String qrText(byte[] envelope) {
    return QR_PREFIX + Base45.encode(envelope);
  }

  /** QR text → envelope bytes (oversized before any work, bad_prefix, bad_encoding). */
  public static byte[] fromQrText(String text) throws ProtocolError {
    if (text == null) throw new ProtocolError("bad_encoding", "QR payload must be text");
    if (text.length() > QR_TEXT_MAX) throw new ProtocolError("oversized", "QR text too long");
    if (!text.startsWith(QR_PREFIX)) throw new ProtocolError("bad_prefix", "QR text must start with " + QR_PREFIX);
    return Base45.decode(text.substring(QR_PREFIX.length()));
  }
}
