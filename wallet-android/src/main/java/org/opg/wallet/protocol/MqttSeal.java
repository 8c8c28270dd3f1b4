package org.opg.wallet.protocol;

/**
 * The sealed MQTT payload (SPEC.md §8): {@code 0x01 || nonce(12) || AES-128-GCM(mqtt key, aad = "opg/v1 mqtt" ||
 * 0x00 || topic, CBOR(message))}. A wallet never speaks MQTT; this exists so the SDK checks every vector of the
 * protocol and can read box messages in tools.
 */
public final class MqttSeal {
  private MqttSeal() {}

  public static final int VERSION = 0x01;
  public static final int MAX = 256 * 1024;

  private static byte[] aad(String topic) {
    return Bytes.concat(Bytes.utf8("opg/v1 mqtt"), new byte[] {0}, Bytes.utf8(topic));
  }

  public static byte[] seal(byte[] key, String topic, byte[] cbor, byte[] nonce) {
    return Bytes.concat(new byte[] {VERSION}, nonce, Crypto.aesGcmSeal(key, nonce, cbor, aad(topic)));
  }

  /** The CBOR plaintext (oversized before any work, bad_version, truncated, bad_tag). */
  public static byte[] open(byte[] key, String topic, byte[] payload) throws ProtocolError {
    if (payload.length > MAX) throw new ProtocolError("oversized", "MQTT payload too large");
    Bytes.Reader r = new Bytes.Reader(payload, "mqtt payload");
    ProtocolError.check(r.u8() == VERSION, "bad_version", "unknown MQTT payload version");
    byte[] nonce = r.bytes(12);
    ProtocolError.check(r.remaining() >= 16, "truncated", "MQTT payload truncated");
    return Crypto.aesGcmOpen(key, nonce, r.bytes(r.remaining()), aad(topic));
  }
}
