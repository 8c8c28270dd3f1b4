package org.opg.wallet.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;

/** The wallet certificate (SPEC.md §3.1, 132 bytes): a wallet key bound to an escrowed offline purse. */
public final class WalletCertificate {
  public static final int TYPE = 0x57;
  public static final int LEN = 132;
  /** Allowed clock skew for "not yet valid", seconds (§3.2). */
  public static final long CLOCK_SKEW_S = 300;
  static final Pattern CURRENCY = Pattern.compile("^[A-Z]{3}$");

  public final String issuerKeyId;
  public final String walletId;
  public final byte[] publicKey;
  public final long perPaymentLimit;
  public final long purseAmount;
  public final String currency;
  public final long counterBase;
  public final long issuedAt;
  public final long expiresAt;
  public final byte[] signature;
  private final byte[] bytes;

  private WalletCertificate(Bytes.Reader r, byte[] bytes) throws ProtocolError {
    ProtocolError.check(r.u8() == TYPE, "bad_type", "not a wallet certificate");
    issuerKeyId = Bytes.hex(r.bytes(4));
    walletId = Bytes.hex(r.bytes(8));
    publicKey = r.bytes(32);
    perPaymentLimit = r.u32();
    purseAmount = r.u32();
    currency = new String(r.bytes(3), StandardCharsets.ISO_8859_1);
    counterBase = r.u32();
    issuedAt = r.u32();
    expiresAt = r.u32();
    signature = r.bytes(64);
    r.end();
    ProtocolError.check(CURRENCY.matcher(currency).matches(), "bad_field", "bad currency code");
    ProtocolError.check(perPaymentLimit >= 1 && purseAmount >= 1, "bad_field", "limits must be positive");
    ProtocolError.check(counterBase < 0xffffffffL, "bad_field", "counter base out of range");
    ProtocolError.check(expiresAt > issuedAt, "bad_field", "certificate validity is empty");
    this.bytes = bytes.clone();
  }

  /** Decode the structure (no signature check: {@link #verify}). */
  public static WalletCertificate decode(byte[] bytes) throws ProtocolError {
    if (bytes.length > LEN) throw new ProtocolError("oversized", "wallet certificate too long");
    return new WalletCertificate(new Bytes.Reader(bytes, "wallet certificate"), bytes);
  }

  /** Issue (sign) a certificate: for tests and tools; the bridge is the real issuer. */
  public static WalletCertificate issue(byte[] issuerSeed, String walletId, byte[] publicKey, long perPaymentLimit,
      long purseAmount, String currency, long counterBase, long issuedAt, long expiresAt) throws ProtocolError {
    ProtocolError.check(CURRENCY.matcher(currency).matches(), "bad_field", "currency must be ISO 4217 alphabetic");
    byte[] body = new Bytes.Writer().u8(TYPE).raw(Crypto.keyIdBytes(Crypto.ed25519PublicKey(issuerSeed)), 4)
        .raw(Ids.id8ToBytes(walletId), 8).raw(publicKey, 32).u32(perPaymentLimit).u32(purseAmount)
        .raw(currency.getBytes(StandardCharsets.ISO_8859_1), 3).u32(counterBase).u32(issuedAt).u32(expiresAt).finish();
    return decode(Bytes.concat(body, Crypto.signDomain(issuerSeed, "wallet-cert", body)));
  }

  /** The full encoding, signature included (a copy). */
  public byte[] bytes() {
    return bytes.clone();
  }

  /** Issuer signature, then (when {@code nowS} is not null) validity: unknown_key, bad_signature, expired, not_yet_valid. */
  public void verify(Map<String, byte[]> issuerKeys, Long nowS) throws ProtocolError {
    verifyIssued(issuerKeys, issuerKeyId, "wallet-cert", bytes, signature, issuedAt, expiresAt, nowS);
  }

  static void verifyIssued(Map<String, byte[]> keys, String kid, String domain, byte[] bytes, byte[] sig,
      long issuedAt, long expiresAt, Long nowS) throws ProtocolError {
    byte[] pub = keys.get(kid);
    if (pub == null) throw new ProtocolError("unknown_key", "unknown issuer key " + kid);
    if (!Crypto.verifyDomain(pub, domain, Bytes.slice(bytes, 0, bytes.length - 64), sig)) {
      throw new ProtocolError("bad_signature", domain + ": issuer signature does not verify");
    }
    if (nowS != null) {
      if (nowS >= expiresAt) throw new ProtocolError("expired", domain + " expired");
      if (nowS + CLOCK_SKEW_S < issuedAt) throw new ProtocolError("not_yet_valid", domain + " not yet valid");
    }
  }
}
