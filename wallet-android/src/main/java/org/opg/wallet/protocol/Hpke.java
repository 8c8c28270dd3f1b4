package org.opg.wallet.protocol;

/**
 * RFC 9180 HPKE, base mode, one suite: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM (0x0020, 0x0001,
 * 0x0001). Checked against RFC 9180 Appendix A.1 by the vector tests.
 */
public final class Hpke {
  private Hpke() {}

  private static final byte[] KEM_SUITE = Bytes.concat(Bytes.utf8("KEM"), new byte[] {0x00, 0x20});
  private static final byte[] HPKE_SUITE = Bytes.concat(Bytes.utf8("HPKE"), new byte[] {0, 0x20, 0, 1, 0, 1});
  private static final byte[] V1 = Bytes.utf8("HPKE-v1");
  private static final byte[] EMPTY = new byte[0];

  /** key, base nonce and exporter secret of a context. */
  public static final class Context {
    public final byte[] key;
    public final byte[] baseNonce;
    public final byte[] exporterSecret;

    Context(byte[] key, byte[] baseNonce, byte[] exporterSecret) {
      this.key = key;
      this.baseNonce = baseNonce;
      this.exporterSecret = exporterSecret;
    }
  }

  /** What a sender gets: the encapsulated key, the shared secret and the context. */
  public static final class Sender {
    public final byte[] enc;
    public final byte[] sharedSecret;
    public final Context ctx;

    Sender(byte[] enc, byte[] sharedSecret, Context ctx) {
      this.enc = enc;
      this.sharedSecret = sharedSecret;
      this.ctx = ctx;
    }
  }

  private static byte[] labeledExtract(byte[] suite, byte[] salt, String label, byte[] ikm) {
    return Crypto.hkdfExtract(salt, Bytes.concat(V1, suite, Bytes.utf8(label), ikm));
  }

  private static byte[] labeledExpand(byte[] suite, byte[] prk, String label, byte[] info, int len) {
    byte[] l = {(byte) (len >> 8), (byte) len};
    return Crypto.hkdfExpand(prk, Bytes.concat(l, V1, suite, Bytes.utf8(label), info), len);
  }

  /** DeriveKeyPair (RFC 9180 §7.1.3) for X25519: returns the secret key. */
  public static byte[] deriveSecretKey(byte[] ikm) {
    byte[] prk = labeledExtract(KEM_SUITE, EMPTY, "dkp_prk", ikm);
    return labeledExpand(KEM_SUITE, prk, "sk", EMPTY, 32);
  }

  private static byte[] extractAndExpand(byte[] dh, byte[] kemContext) {
    byte[] prk = labeledExtract(KEM_SUITE, EMPTY, "eae_prk", dh);
    return labeledExpand(KEM_SUITE, prk, "shared_secret", kemContext, 32);
  }

  public static Context keySchedule(byte[] sharedSecret, byte[] info) {
    byte[] pskIdHash = labeledExtract(HPKE_SUITE, EMPTY, "psk_id_hash", EMPTY);
    byte[] infoHash = labeledExtract(HPKE_SUITE, EMPTY, "info_hash", info);
    byte[] ctx = Bytes.concat(new byte[] {0}, pskIdHash, infoHash);
    byte[] secret = labeledExtract(HPKE_SUITE, sharedSecret, "secret", EMPTY);
    return new Context(labeledExpand(HPKE_SUITE, secret, "key", ctx, 16),
        labeledExpand(HPKE_SUITE, secret, "base_nonce", ctx, 12), labeledExpand(HPKE_SUITE, secret, "exp", ctx, 32));
  }

  /** base_nonce XOR I2OSP(seq, 12). */
  public static byte[] nonce(byte[] baseNonce, long seq) {
    byte[] n = baseNonce.clone();
    for (int i = 11; i >= 0 && seq > 0; i--) {
      n[i] ^= (byte) seq;
      seq >>>= 8;
    }
    return n;
  }

  /** SetupBaseS; {@code ephemeralSecret} null for a fresh random one (fixed only in tests). */
  public static Sender setupSender(byte[] recipientPublic, byte[] info, byte[] ephemeralSecret) throws ProtocolError {
    byte[] skE = ephemeralSecret != null ? ephemeralSecret : Crypto.randomBytes(32);
    byte[] enc = Crypto.x25519PublicKey(skE);
    byte[] dh = Crypto.x25519(skE, recipientPublic);
    byte[] shared = extractAndExpand(dh, Bytes.concat(enc, recipientPublic));
    return new Sender(enc, shared, keySchedule(shared, info));
  }

  public static Context setupRecipient(byte[] enc, byte[] recipientSecret, byte[] recipientPublic, byte[] info)
      throws ProtocolError {
    if (enc.length != 32) throw new ProtocolError("bad_length", "HPKE enc must be 32 bytes");
    byte[] dh = Crypto.x25519(recipientSecret, enc);
    return keySchedule(extractAndExpand(dh, Bytes.concat(enc, recipientPublic)), info);
  }

  /** Single-shot seal: returns enc || ciphertext || tag. */
  public static byte[] seal(byte[] recipientPublic, byte[] info, byte[] aad, byte[] pt, byte[] ephemeralSecret)
      throws ProtocolError {
    Sender s = setupSender(recipientPublic, info, ephemeralSecret);
    return Bytes.concat(s.enc, Crypto.aesGcmSeal(s.ctx.key, s.ctx.baseNonce, pt, aad));
  }

  public static byte[] open(byte[] enc, byte[] recipientSecret, byte[] recipientPublic, byte[] info, byte[] aad,
      byte[] ct) throws ProtocolError {
    Context ctx = setupRecipient(enc, recipientSecret, recipientPublic, info);
    return Crypto.aesGcmOpen(ctx.key, ctx.baseNonce, ct, aad);
  }
}
