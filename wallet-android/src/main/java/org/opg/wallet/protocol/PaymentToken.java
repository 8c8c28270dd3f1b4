package org.opg.wallet.protocol;

import java.util.Map;

/** The offline payment token (SPEC.md §4): 257 bytes ('T', QR) or 265 ('B', with the BLE session challenge). */
public final class PaymentToken {
  public static final int TYPE = 0x54;
  public static final int TYPE_CHALLENGE = 0x42;
  public static final int LEN = 257;
  public static final int LEN_CHALLENGE = 265;
  public static final int CHALLENGE_LEN = 8;
  public static final int HASH_LEN = 16;

  public final String txId;
  public final WalletCertificate cert;
  public final String merchantId;
  public final String deviceId;
  public final long amount;
  public final long counter;
  public final byte[] prevHash;
  public final long walletTime;
  /** The session challenge ('B' tokens), or null. */
  public final byte[] challenge;
  public final byte[] signature;
  private final byte[] bytes;

  private PaymentToken(byte[] bytes) throws ProtocolError {
    Bytes.Reader r = new Bytes.Reader(bytes, "token");
    int type = r.u8();
    ProtocolError.check(type == TYPE || type == TYPE_CHALLENGE, "bad_type", "not a payment token");
    txId = Ids.bytesToUuid(r.bytes(16));
    ProtocolError.check(Ids.isUuidv7(txId), "bad_field", "txId is not a UUIDv7");
    cert = WalletCertificate.decode(r.bytes(WalletCertificate.LEN));
    merchantId = Bytes.hex(r.bytes(8));
    deviceId = Bytes.hex(r.bytes(8));
    amount = r.u32();
    counter = r.u32();
    prevHash = r.bytes(HASH_LEN);
    walletTime = r.u32();
    challenge = type == TYPE_CHALLENGE ? r.bytes(CHALLENGE_LEN) : null;
    signature = r.bytes(64);
    r.end();
    ProtocolError.check(amount >= 1, "bad_field", "amount must be positive");
    ProtocolError.check(counter >= 1, "bad_field", "counter must be positive");
    this.bytes = bytes.clone();
  }

  /** Decode a token's structure (no signature check: {@link #verify}). */
  public static PaymentToken decode(byte[] bytes) throws ProtocolError {
    if (bytes.length > LEN_CHALLENGE) throw new ProtocolError("oversized", "token too long");
    return new PaymentToken(bytes);
  }

  /** The token body (every byte the signature covers) for the given fields; the signer adds the domain. */
  public static byte[] body(WalletCertificate cert, String txId, String merchantId, String deviceId, long amount,
      long counter, byte[] prevHash, long walletTime, byte[] challenge) throws ProtocolError {
    ProtocolError.check(Ids.isUuidv7(txId), "bad_field", "txId must be a UUIDv7");
    ProtocolError.check(amount >= 1 && amount <= 0xffffffffL, "bad_field", "amount out of range");
    ProtocolError.check(counter >= 1 && counter <= 0xffffffffL, "bad_field", "counter out of range");
    Bytes.Writer w = new Bytes.Writer().u8(challenge != null ? TYPE_CHALLENGE : TYPE).raw(Ids.uuidToBytes(txId), 16)
        .raw(cert.bytes(), WalletCertificate.LEN).raw(Ids.id8ToBytes(merchantId), 8).raw(Ids.id8ToBytes(deviceId), 8)
        .u32(amount).u32(counter).raw(prevHash, HASH_LEN).u32(walletTime);
    if (challenge != null) w.raw(challenge, CHALLENGE_LEN);
    return w.finish();
  }

  /** Sign {@code body} with the wallet seed (domain {@code token}) and decode the result. */
  public static PaymentToken sign(byte[] walletSeed, byte[] body) throws ProtocolError {
    return decode(Bytes.concat(body, Crypto.signDomain(walletSeed, "token", body)));
  }

  public byte[] bytes() {
    return bytes.clone();
  }

  public String currency() {
    return cert.currency;
  }

  public String walletId() {
    return cert.walletId;
  }

  /** Bytes the wallet signature covers. */
  public byte[] body() {
    return Bytes.slice(bytes, 0, bytes.length - 64);
  }

  /**
   * Stateless verification (§4), in the order the TypeScript reference uses: certificate (unknown_key,
   * bad_signature, expired, not_yet_valid), wallet signature, wrong_merchant, wrong_device, over_limit,
   * over_purse, bad_counter, bad_challenge. Null expectations are not checked.
   */
  public void verify(Map<String, byte[]> issuerKeys, Long nowS, String merchantId, String deviceId, byte[] expectChallenge)
      throws ProtocolError {
    cert.verify(issuerKeys, nowS);
    if (!Crypto.verifyDomain(cert.publicKey, "token", body(), signature)) {
      throw new ProtocolError("bad_signature", "wallet signature does not verify");
    }
    if (merchantId != null && !merchantId.equals(this.merchantId)) throw new ProtocolError("wrong_merchant", "token names another merchant");
    if (deviceId != null && !deviceId.equals(this.deviceId)) throw new ProtocolError("wrong_device", "token names another device");
    if (amount > cert.perPaymentLimit) throw new ProtocolError("over_limit", "over per-payment limit");
    if (amount > cert.purseAmount) throw new ProtocolError("over_purse", "more than the purse holds");
    if (counter <= cert.counterBase) throw new ProtocolError("bad_counter", "counter below purse base");
    if (expectChallenge != null && !Bytes.equal(challenge, expectChallenge)) {
      throw new ProtocolError("bad_challenge", "token does not carry this session challenge");
    }
  }

  /** The chain link: first 16 bytes of SHA-256 of the signed bytes. */
  public byte[] hash() {
    return Bytes.slice(Crypto.sha256(bytes), 0, HASH_LEN);
  }

  /** The payment's identity: SHA-256 of the body (signature excluded). */
  public byte[] bodyHash() {
    return Crypto.sha256(body());
  }

  /** prevHash of the first token under {@code cert}: SHA-256("opg/v1 chain" || 0 || cert)[0..16]. */
  public static byte[] chainStart(WalletCertificate cert) {
    return Bytes.slice(Crypto.sha256(Bytes.utf8("opg/v1 chain"), new byte[] {0}, cert.bytes()), 0, HASH_LEN);
  }
}
