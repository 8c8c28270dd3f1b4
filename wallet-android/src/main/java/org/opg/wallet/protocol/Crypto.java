package org.opg.wallet.protocol;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.macs.CMac;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * The primitives of SPEC.md §2. Bouncy Castle's lightweight API (never its JCA provider, which clashes with the
 * stripped copy Android ships) for Ed25519, X25519 and AES-CMAC, which Android lacks before API 33 or at all;
 * the platform ({@code java.security}/{@code javax.crypto}, present on every Android level) for SHA-256,
 * HMAC-SHA256, AES-GCM and randomness. Ed25519 verification is strict (§2.1) whatever Bouncy Castle accepts.
 */
public final class Crypto {
  private Crypto() {}

  private static final SecureRandom RANDOM = new SecureRandom();

  public static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }

  public static byte[] sha256(byte[]... parts) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) d.update(p);
      return d.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing", e);
    }
  }

  public static byte[] hmacSha256(byte[] key, byte[] data) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      // An empty HKDF salt means a zero-filled key of hash length (RFC 5869); SecretKeySpec refuses empty keys.
      m.init(new SecretKeySpec(key.length == 0 ? new byte[32] : key, "HmacSHA256"));
      return m.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 missing", e);
    }
  }

  public static byte[] hkdfExtract(byte[] salt, byte[] ikm) {
    return hmacSha256(salt, ikm);
  }

  public static byte[] hkdfExpand(byte[] prk, byte[] info, int len) {
    byte[] out = new byte[len];
    byte[] t = new byte[0];
    int off = 0;
    for (int i = 1; off < len; i++) {
      t = hmacSha256(prk, Bytes.concat(t, info, new byte[] {(byte) i}));
      int n = Math.min(t.length, len - off);
      System.arraycopy(t, 0, out, off, n);
      off += n;
    }
    return out;
  }

  public static byte[] hkdf(byte[] ikm, byte[] salt, byte[] info, int len) {
    return hkdfExpand(hkdfExtract(salt, ikm), info, len);
  }

  /** AES-128-GCM with the 16-byte tag appended. */
  public static byte[] aesGcmSeal(byte[] key, byte[] nonce, byte[] plaintext, byte[] aad) {
    try {
      Cipher c = gcm(Cipher.ENCRYPT_MODE, key, nonce);
      c.updateAAD(aad);
      return c.doFinal(plaintext);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM failed", e);
    }
  }

  /** Open AES-128-GCM; a wrong key, nonce, aad or a changed byte is {@code bad_tag}. */
  public static byte[] aesGcmOpen(byte[] key, byte[] nonce, byte[] sealed, byte[] aad) throws ProtocolError {
    if (sealed.length < 16) throw new ProtocolError("truncated", "sealed data shorter than its tag");
    try {
      Cipher c = gcm(Cipher.DECRYPT_MODE, key, nonce);
      c.updateAAD(aad);
      return c.doFinal(sealed);
    } catch (AEADBadTagException e) {
      throw new ProtocolError("bad_tag", "authentication tag does not verify", e);
    } catch (GeneralSecurityException e) {
      throw new ProtocolError("bad_key", "AES-GCM refused the key or nonce", e);
    }
  }

  private static Cipher gcm(int mode, byte[] key, byte[] nonce) throws GeneralSecurityException {
    if (key.length != 16 || nonce.length != 12) throw new GeneralSecurityException("bad key or nonce length");
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
    return c;
  }

  /** AES-CMAC (RFC 4493) with a 16-byte key. */
  public static byte[] aesCmac(byte[] key, byte[] data) throws ProtocolError {
    if (key.length != 16) throw new ProtocolError("bad_key", "AES-CMAC key must be 16 bytes");
    CMac mac = new CMac(new AESEngine());
    mac.init(new KeyParameter(key));
    mac.update(data, 0, data.length);
    byte[] out = new byte[16];
    mac.doFinal(out, 0);
    return out;
  }

  public static byte[] x25519PublicKey(byte[] secret) {
    byte[] pub = new byte[32];
    X25519.scalarMultBase(secret, 0, pub, 0);
    return pub;
  }

  /** X25519; an all-zero shared secret (a small-order peer key) is {@code bad_key} (RFC 7748 §6.1). */
  public static byte[] x25519(byte[] secret, byte[] peerPublic) throws ProtocolError {
    if (secret.length != 32 || peerPublic.length != 32) throw new ProtocolError("bad_key", "X25519 keys are 32 bytes");
    byte[] out = new byte[32];
    X25519.scalarMult(secret, 0, peerPublic, 0, out, 0);
    int acc = 0;
    for (byte b : out) acc |= b;
    if (acc == 0) throw new ProtocolError("bad_key", "X25519 produced the zero point");
    return out;
  }

  public static byte[] ed25519PublicKey(byte[] seed) {
    byte[] pub = new byte[32];
    Ed25519.generatePublicKey(seed, 0, pub, 0);
    return pub;
  }

  public static byte[] ed25519Sign(byte[] seed, byte[] message) {
    byte[] sig = new byte[64];
    Ed25519.sign(seed, 0, message, 0, message.length, sig, 0);
    return sig;
  }

  /** Strict Ed25519 verification (SPEC.md §2.1): S &lt; L, canonical A and R, no small-order A or R. */
  public static boolean ed25519Verify(byte[] publicKey, byte[] message, byte[] signature) {
    if (publicKey == null || signature == null || publicKey.length != 32 || signature.length != 64) return false;
    byte[] r = Arrays.copyOfRange(signature, 0, 32);
    byte[] s = Arrays.copyOfRange(signature, 32, 64);
    if (le(s).compareTo(L) >= 0) return false;
    if (!isStrictPoint(publicKey) || !isStrictPoint(r)) return false;
    return Ed25519.verify(signature, 0, publicKey, 0, message, 0, message.length);
  }

  /** True when {@code key} is a canonical encoding of a point that is not of small order (§2.1 rules 2–3). */
  public static boolean isStrictPoint(byte[] key) {
    if (key.length != 32) return false;
    byte[] y = key.clone();
    boolean sign = (y[31] & 0x80) != 0;
    y[31] &= 0x7f;
    BigInteger yv = le(y);
    if (yv.compareTo(P) >= 0) return false;
    if (sign && (yv.equals(BigInteger.ONE) || yv.equals(P.subtract(BigInteger.ONE)))) return false;
    return !SMALL_ORDER.contains(Bytes.hex(key));
  }

  private static BigInteger le(byte[] b) {
    byte[] be = new byte[b.length];
    for (int i = 0; i < b.length; i++) be[i] = b[b.length - 1 - i];
    return new BigInteger(1, be);
  }

  private static final BigInteger P = BigInteger.ONE.shiftLeft(255).subtract(BigInteger.valueOf(19));
  static final BigInteger L =
      BigInteger.ONE.shiftLeft(252).add(new BigInteger("27742317777372353535851937790883648493"));
  private static final Set<String> SMALL_ORDER =
      new HashSet<>(
          Arrays.asList(
              "0100000000000000000000000000000000000000000000000000000000000000",
              "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
              "0000000000000000000000000000000000000000000000000000000000000080",
              "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
              "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
              "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
              "0000000000000000000000000000000000000000000000000000000000000000",
              "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"));

  /** Domain-separated signing input: {@code "opg/v1 " || domain || 0x00 || body}. */
  public static byte[] domainInput(String domain, byte[] body) {
    return Bytes.concat(Bytes.utf8("opg/v1 " + domain), new byte[] {0}, body);
  }

  public static byte[] signDomain(byte[] seed, String domain, byte[] body) {
    return ed25519Sign(seed, domainInput(domain, body));
  }

  public static boolean verifyDomain(byte[] publicKey, String domain, byte[] body, byte[] sig) {
    return ed25519Verify(publicKey, domainInput(domain, body), sig);
  }

  /** Key id: first 4 bytes of SHA-256(public key). */
  public static byte[] keyIdBytes(byte[] publicKey) {
    return Arrays.copyOf(sha256(publicKey), 4);
  }

  public static String keyId(byte[] publicKey) {
    return Bytes.hex(keyIdBytes(publicKey));
  }
}
