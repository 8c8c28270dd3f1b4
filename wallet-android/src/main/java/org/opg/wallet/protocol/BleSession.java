package org.opg.wallet.protocol;

import java.util.Map;

/**
 * The BLE payment session's messages and keys (SPEC.md §10), as pure steps: WalletHello, the box's answer
 * (for tests and the vectors), the wallet's check of BoxHello, the session cipher and the inner messages.
 */
public final class BleSession {
  private BleSession() {}

  public static final int WALLET_HELLO = 0x01;
  public static final int BOX_HELLO = 0x02;
  public static final int SEALED = 0x03;
  public static final int INNER_TOKEN = 0x10;
  public static final int INNER_RECEIPT = 0x11;
  public static final int INNER_REJECT = 0x12;
  /** Largest session message accepted. */
  public static final int MESSAGE_MAX = 1024;

  /** The wallet's ephemeral key and its WalletHello. */
  public static final class WalletHandshake {
    public final byte[] ephemeralSecret;
    public final byte[] ephemeralPublic;
    public final byte[] message;

    WalletHandshake(byte[] secret) {
      ephemeralSecret = secret;
      ephemeralPublic = Crypto.x25519PublicKey(secret);
      message = Bytes.concat(new byte[] {WALLET_HELLO}, ephemeralPublic);
    }
  }

  /** An established session: the cipher, the box's challenge and its verified certificate. */
  public static final class Established {
    public final Cipher cipher;
    public final byte[] challenge;
    public final NodeCertificate nodeCert;
    /** The BoxHello (box side only; null for the wallet). */
    public final byte[] message;

    Established(Cipher cipher, byte[] challenge, NodeCertificate nodeCert, byte[] message) {
      this.cipher = cipher;
      this.challenge = challenge;
      this.nodeCert = nodeCert;
      this.message = message;
    }
  }

  /** Wallet step 1; {@code ephemeralSecret} null for a fresh one. */
  public static WalletHandshake walletHello(byte[] ephemeralSecret) {
    return new WalletHandshake(ephemeralSecret != null ? ephemeralSecret : Crypto.randomBytes(32));
  }

  private static byte[][] keys(byte[] shared, byte[] transcript) {
    byte[] salt = Crypto.sha256(transcript);
    return new byte[][] {
      Crypto.hkdf(shared, salt, Bytes.utf8("opg/v1 ble wallet"), 16), Crypto.hkdf(shared, salt, Bytes.utf8("opg/v1 ble box"), 16)
    };
  }

  /** The box's step (tests and vectors): answer a WalletHello. */
  public static Established boxRespond(byte[] signingSeed, NodeCertificate cert, byte[] hello, byte[] ephemeralSecret,
      byte[] challenge) throws ProtocolError {
    if (hello.length > MESSAGE_MAX) throw new ProtocolError("oversized", "BLE message too long");
    Bytes.Reader r = new Bytes.Reader(hello, "wallet hello");
    ProtocolError.check(r.u8() == WALLET_HELLO, "bad_type", "expected WalletHello");
    byte[] walletEph = r.bytes(32);
    r.end();
    byte[] boxEph = Crypto.x25519PublicKey(ephemeralSecret);
    byte[] transcript = Bytes.concat(walletEph, boxEph, challenge, cert.bytes());
    byte[] sig = Crypto.signDomain(signingSeed, "ble-transcript", transcript);
    byte[][] k = keys(Crypto.x25519(ephemeralSecret, walletEph), transcript);
    byte[] msg = Bytes.concat(new byte[] {BOX_HELLO}, boxEph, challenge, cert.bytes(), sig);
    return new Established(new Cipher(false, k[1], k[0]), challenge, cert, msg);
  }

  /**
   * Wallet step 2: the node certificate from a known issuer and valid at {@code nowS}, for {@code deviceId}
   * (wrong_device), and the transcript signature by its key (bad_signature); then the session keys.
   */
  public static Established walletFinish(WalletHandshake hs, byte[] boxHello, Map<String, byte[]> issuerKeys,
      String deviceId, Long nowS) throws ProtocolError {
    if (boxHello.length > MESSAGE_MAX) throw new ProtocolError("oversized", "BLE message too long");
    Bytes.Reader r = new Bytes.Reader(boxHello, "box hello");
    ProtocolError.check(r.u8() == BOX_HELLO, "bad_type", "expected BoxHello");
    byte[] boxEph = r.bytes(32);
    byte[] challenge = r.bytes(PaymentToken.CHALLENGE_LEN);
    NodeCertificate cert = NodeCertificate.decode(r.bytes(NodeCertificate.LEN));
    byte[] sig = r.bytes(64);
    r.end();
    cert.verify(issuerKeys, nowS);
    if (deviceId != null && !deviceId.equals(cert.deviceId)) throw new ProtocolError("wrong_device", "this box is not the one on the sticker");
    byte[] transcript = Bytes.concat(hs.ephemeralPublic, boxEph, challenge, cert.bytes());
    if (!Crypto.verifyDomain(cert.signingKey, "ble-transcript", transcript, sig)) {
      throw new ProtocolError("bad_signature", "box did not prove its node key");
    }
    byte[][] k = keys(Crypto.x25519(hs.ephemeralSecret, boxEph), transcript);
    return new Established(new Cipher(true, k[0], k[1]), challenge, cert, null);
  }

  /** AES-128-GCM of one session side: nonce = 0^7 || role || u32 counter from 1, aad = 0x03. */
  public static final class Cipher {
    private final boolean wallet;
    private final byte[] sendKey;
    private final byte[] recvKey;
    private long sent;
    private long received;

    Cipher(boolean wallet, byte[] sendKey, byte[] recvKey) {
      this.wallet = wallet;
      this.sendKey = sendKey;
      this.recvKey = recvKey;
    }

    private static byte[] nonce(boolean walletRole, long n) {
      byte[] b = new byte[12];
      b[7] = (byte) (walletRole ? 0 : 1);
      b[8] = (byte) (n >>> 24);
      b[9] = (byte) (n >>> 16);
      b[10] = (byte) (n >>> 8);
      b[11] = (byte) n;
      return b;
    }

    public byte[] seal(byte[] inner) {
      byte[] aad = {SEALED};
      return Bytes.concat(aad, Crypto.aesGcmSeal(sendKey, nonce(wallet, ++sent), inner, aad));
    }

    public byte[] open(byte[] msg) throws ProtocolError {
      if (msg.length > MESSAGE_MAX) throw new ProtocolError("oversized", "BLE message too long");
      ProtocolError.check(msg.length >= 17, "truncated", "sealed BLE message truncated");
      ProtocolError.check((msg[0] & 0xff) == SEALED, "bad_type", "expected a sealed BLE message");
      byte[] inner = Crypto.aesGcmOpen(recvKey, nonce(!wallet, received + 1), Bytes.slice(msg, 1, msg.length), new byte[] {SEALED});
      received++;
      return inner;
    }
  }

  /** An inner message: kind 0x10 token, 0x11 receipt, 0x12 rejection code. */
  public static final class Inner {
    public final int kind;
    public final byte[] body;
    /** The rejection code (kind 0x12), else null. */
    public final String code;

    private Inner(int kind, byte[] body, String code) {
      this.kind = kind;
      this.body = body;
      this.code = code;
    }

    public static byte[] token(byte[] token) {
      return Bytes.concat(new byte[] {INNER_TOKEN}, token);
    }

    public static byte[] receipt(byte[] receipt) {
      return Bytes.concat(new byte[] {INNER_RECEIPT}, receipt);
    }

    public static byte[] reject(String code) {
      return Bytes.concat(new byte[] {INNER_REJECT}, Bytes.utf8(code));
    }

    public static Inner decode(byte[] b) throws ProtocolError {
      ProtocolError.check(b.length >= 1, "truncated", "empty inner message");
      byte[] body = Bytes.slice(b, 1, b.length);
      switch (b[0] & 0xff) {
        case INNER_TOKEN:
        case INNER_RECEIPT:
          return new Inner(b[0] & 0xff, body, null);
        case INNER_REJECT:
          String code = Sticker.strictUtf8(body);
          ProtocolError.check(ProtocolError.CODES.contains(code), "bad_field", "unknown rejection code");
          return new Inner(INNER_REJECT, body, code);
        default:
          throw new ProtocolError("bad_type", "unknown inner message type");
      }
    }

    public byte[] encode() {
      return Bytes.concat(new byte[] {(byte) kind}, body);
    }
  }
}
