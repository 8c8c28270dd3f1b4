package org.opg.wallet.protocol;

/** The box's signed receipt (SPEC.md §6, 110 bytes). */
public final class Receipt {
  public static final int TYPE = 0x52;
  public static final int LEN = 110;
  public static final int ACCEPTED = 0x01;

  public final String txId;
  public final byte[] tokenHash;
  public final String deviceId;
  public final long acceptedAt;
  public final int status;
  public final byte[] signature;
  private final byte[] bytes;

  private Receipt(byte[] bytes) throws ProtocolError {
    Bytes.Reader r = new Bytes.Reader(bytes, "receipt");
    ProtocolError.check(r.u8() == TYPE, "bad_type", "not a receipt");
    txId = Ids.bytesToUuid(r.bytes(16));
    tokenHash = r.bytes(PaymentToken.HASH_LEN);
    deviceId = Bytes.hex(r.bytes(8));
    acceptedAt = r.u32();
    status = r.u8();
    signature = r.bytes(64);
    r.end();
    ProtocolError.check(status == ACCEPTED, "bad_field", "unknown receipt status");
    this.bytes = bytes.clone();
  }

  public static Receipt decode(byte[] bytes) throws ProtocolError {
    if (bytes.length > LEN) throw new ProtocolError("oversized", "receipt too long");
    return new Receipt(bytes);
  }

  /** Sign a receipt for {@code token} (the box's side; for tests and the vector re-encoding). */
  public static Receipt sign(byte[] nodeSigningSeed, PaymentToken token, long acceptedAt) throws ProtocolError {
    byte[] body = new Bytes.Writer().u8(TYPE).raw(Ids.uuidToBytes(token.txId), 16).raw(token.hash(), 16)
        .raw(Ids.id8ToBytes(token.deviceId), 8).u32(acceptedAt).u8(ACCEPTED).finish();
    return decode(Bytes.concat(body, Crypto.signDomain(nodeSigningSeed, "receipt", body)));
  }

  public byte[] bytes() {
    return bytes.clone();
  }

  /** The box signature (bad_signature), and when {@code token} is given that it acknowledges exactly that token. */
  public void verify(byte[] nodeSigningKey, PaymentToken token) throws ProtocolError {
    if (!Crypto.verifyDomain(nodeSigningKey, "receipt", Bytes.slice(bytes, 0, bytes.length - 64), signature)) {
      throw new ProtocolError("bad_signature", "receipt signature does not verify");
    }
    if (token != null) {
      ProtocolError.check(txId.equals(token.txId), "bad_field", "receipt is for another transaction");
      ProtocolError.check(Bytes.equal(tokenHash, token.hash()), "bad_field", "receipt is for another token");
      ProtocolError.check(deviceId.equals(token.deviceId), "wrong_device", "receipt from another device");
    }
  }
}
