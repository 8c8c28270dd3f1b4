package org.opg.wallet.protocol;

import java.util.Map;

/** The node (box) certificate (SPEC.md §3.2, 165 bytes): a box's signing and encryption keys bound to its ids. */
public final class NodeCertificate {
  public static final int TYPE = 0x4e;
  public static final int LEN = 165;

  public final String issuerKeyId;
  public final String tenantId;
  public final String merchantId;
  public final String deviceId;
  public final byte[] signingKey;
  public final byte[] encryptionKey;
  public final long issuedAt;
  public final long expiresAt;
  public final byte[] signature;
  private final byte[] bytes;

  private NodeCertificate(Bytes.Reader r, byte[] bytes) throws ProtocolError {
    ProtocolError.check(r.u8() == TYPE, "bad_type", "not a node certificate");
    issuerKeyId = Bytes.hex(r.bytes(4));
    tenantId = Bytes.hex(r.bytes(8));
    merchantId = Bytes.hex(r.bytes(8));
    deviceId = Bytes.hex(r.bytes(8));
    signingKey = r.bytes(32);
    encryptionKey = r.bytes(32);
    issuedAt = r.u32();
    expiresAt = r.u32();
    signature = r.bytes(64);
    r.end();
    ProtocolError.check(expiresAt > issuedAt, "bad_field", "certificate validity is empty");
    this.bytes = bytes.clone();
  }

  public static NodeCertificate decode(byte[] bytes) throws ProtocolError {
    if (bytes.length > LEN) throw new ProtocolError("oversized", "node certificate too long");
    return new NodeCertificate(new Bytes.Reader(bytes, "node certificate"), bytes);
  }

  /** Issue (sign) a node certificate: for tests and tools. */
  public static NodeCertificate issue(byte[] issuerSeed, String tenantId, String merchantId, String deviceId,
      byte[] signingKey, byte[] encryptionKey, long issuedAt, long expiresAt) throws ProtocolError {
    ProtocolError.check(expiresAt > issuedAt, "bad_field", "expiresAt must be after issuedAt");
    byte[] body = new Bytes.Writer().u8(TYPE).raw(Crypto.keyIdBytes(Crypto.ed25519PublicKey(issuerSeed)), 4)
        .raw(Ids.id8ToBytes(tenantId), 8).raw(Ids.id8ToBytes(merchantId), 8).raw(Ids.id8ToBytes(deviceId), 8)
        .raw(signingKey, 32).raw(encryptionKey, 32).u32(issuedAt).u32(expiresAt).finish();
    return decode(Bytes.concat(body, Crypto.signDomain(issuerSeed, "node-cert", body)));
  }

  public byte[] bytes() {
    return bytes.clone();
  }

  public void verify(Map<String, byte[]> issuerKeys, Long nowS) throws ProtocolError {
    WalletCertificate.verifyIssued(issuerKeys, issuerKeyId, "node-cert", bytes, signature, issuedAt, expiresAt, nowS);
  }
}
