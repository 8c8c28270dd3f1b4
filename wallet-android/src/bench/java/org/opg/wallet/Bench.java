package org.opg.wallet;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.Locale;
import org.opg.wallet.protocol.Bytes;
import org.opg.wallet.protocol.Crypto;
import org.opg.wallet.protocol.Envelope;
import org.opg.wallet.protocol.NodeCertificate;
import org.opg.wallet.protocol.PaymentToken;
import org.opg.wallet.protocol.WalletCertificate;

/**
 * Token operations of the Java wallet per second, with a same-run baseline: the JDK's own Ed25519 (SunEC, what
 * "the platform where present" would use on Android 33+) against Bouncy Castle's, which the library uses on every
 * API level. Prints a Markdown table; read the ratios, not the absolute rates.
 */
public final class Bench {
  private Bench() {}

  interface Op {
    void run() throws Exception;
  }

  private static double rate(Op op) throws Exception {
    for (int i = 0; i < 300; i++) op.run();
    long n = 0;
    long start = System.nanoTime();
    long end = start + 2_000_000_000L;
    while (System.nanoTime() < end) {
      for (int i = 0; i < 50; i++) op.run();
      n += 50;
    }
    return n / ((System.nanoTime() - start) / 1e9);
  }

  public static void main(String[] args) throws Exception {
    byte[] issuer = Crypto.randomBytes(32);
    byte[] walletSeed = Crypto.randomBytes(32);
    byte[] encSecret = Crypto.randomBytes(32);
    long now = System.currentTimeMillis() / 1000;
    NodeCertificate nc = NodeCertificate.issue(issuer, "0a0b0c0d0e0f1011", "1111111111111111", "2222222222222222",
        Crypto.ed25519PublicKey(Crypto.randomBytes(32)), Crypto.x25519PublicKey(encSecret), now - 60, now + 86400);
    WalletCertificate wc = WalletCertificate.issue(issuer, "3333333333333333", Crypto.ed25519PublicKey(walletSeed), 5000,
        20000, "EUR", 0, now - 60, now + 86400);
    java.util.Map<String, byte[]> keys = new java.util.HashMap<>();
    keys.put(Crypto.keyId(Crypto.ed25519PublicKey(issuer)), Crypto.ed25519PublicKey(issuer));
    byte[] body = PaymentToken.body(wc, "01890a5d-ac96-774b-bcce-b302099a8057", nc.merchantId, nc.deviceId, 1250, 1,
        PaymentToken.chainStart(wc), now, null);
    PaymentToken token = PaymentToken.sign(walletSeed, body);
    byte[] env = Envelope.seal(nc.encryptionKey, token.bytes(), null);
    byte[] input = Crypto.domainInput("token", body);

    KeyPair jdk = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    Signature jdkSign = Signature.getInstance("Ed25519");
    jdkSign.initSign(jdk.getPrivate());
    jdkSign.update(input);
    byte[] jdkSig = jdkSign.sign();

    double bcSign = rate(() -> Crypto.ed25519Sign(walletSeed, input));
    double jdkSignRate = rate(() -> {
      jdkSign.initSign(jdk.getPrivate());
      jdkSign.update(input);
      jdkSign.sign();
    });
    double bcVerify = rate(() -> Crypto.ed25519Verify(wc.publicKey, input, token.signature));
    Signature jdkVer = Signature.getInstance("Ed25519");
    double jdkVerify = rate(() -> {
      jdkVer.initVerify(jdk.getPublic());
      jdkVer.update(input);
      jdkVer.verify(jdkSig);
    });
    double tokenSign = rate(() -> PaymentToken.sign(walletSeed, body));
    double tokenVerify = rate(() -> PaymentToken.decode(token.bytes()).verify(keys, now, nc.merchantId, nc.deviceId, null));
    double seal = rate(() -> Envelope.seal(nc.encryptionKey, token.bytes(), null));
    double open = rate(() -> Envelope.open(encSecret, nc.encryptionKey, env));

    System.out.printf(Locale.ROOT, "Machine: %s cores, Java %s (%s)%n%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"), System.getProperty("java.vm.name"));
    System.out.println("| operation | Bouncy Castle / s | JDK SunEC / s | BC ÷ JDK |");
    System.out.println("|---|---:|---:|---:|");
    System.out.printf(Locale.ROOT, "| Ed25519 sign (token input, %d bytes) | %,.0f | %,.0f | %.2f× |%n", input.length, bcSign, jdkSignRate, bcSign / jdkSignRate);
    System.out.printf(Locale.ROOT, "| Ed25519 verify (strict checks + BC) | %,.0f | %,.0f | %.2f× |%n", bcVerify, jdkVerify, bcVerify / jdkVerify);
    System.out.println();
    System.out.println("| wallet operation | / s | ÷ BC Ed25519 sign |");
    System.out.println("|---|---:|---:|");
    System.out.printf(Locale.ROOT, "| token sign (Ed25519 + decode) | %,.0f | %.2f× |%n", tokenSign, tokenSign / bcSign);
    System.out.printf(Locale.ROOT, "| token verify (issuer + wallet signature, all checks) | %,.0f | %.2f× |%n", tokenVerify, tokenVerify / bcSign);
    System.out.printf(Locale.ROOT, "| envelope seal (HPKE: X25519 ×2, HKDF, AES-GCM) | %,.0f | %.2f× |%n", seal, seal / bcSign);
    System.out.printf(Locale.ROOT, "| envelope open | %,.0f | %.2f× |%n", open, open / bcSign);
    if (Bytes.hex(env).isEmpty()) throw new IllegalStateException();
  }
}
