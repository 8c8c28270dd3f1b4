package org.opg.wallet;

import java.util.LinkedHashMap;
import java.util.Map;
import org.opg.wallet.protocol.Crypto;
import org.opg.wallet.protocol.NodeCertificate;
import org.opg.wallet.protocol.ProtocolError;
import org.opg.wallet.protocol.Sticker;
import org.opg.wallet.protocol.WalletCertificate;

/** A tenant issuer and one box, made fresh per test, with certificates around the wall clock (timeless tests). */
final class TestIssuer {
  final byte[] issuerSeed = Crypto.randomBytes(32);
  final byte[] nodeSigningSeed = Crypto.randomBytes(32);
  final byte[] nodeEncSecret = Crypto.randomBytes(32);
  final NodeCertificate nodeCert;
  final String sticker;
  long nextBase = 0;

  TestIssuer() throws ProtocolError {
    long now = System.currentTimeMillis() / 1000;
    nodeCert = NodeCertificate.issue(issuerSeed, "0a0b0c0d0e0f1011", "1111111111111111", "2222222222222222",
        Crypto.ed25519PublicKey(nodeSigningSeed), Crypto.x25519PublicKey(nodeEncSecret), now - 3600, now + 86400 * 365);
    sticker = new Sticker(nodeCert, "Test Stall").encode();
  }

  Map<String, byte[]> keyring() {
    Map<String, byte[]> m = new LinkedHashMap<>();
    m.put(Crypto.keyId(Crypto.ed25519PublicKey(issuerSeed)), Crypto.ed25519PublicKey(issuerSeed));
    return m;
  }

  /** A purse for {@code wallet}: the next counter range, valid for a day around now. */
  byte[] purse(Wallet wallet, long amount, long limit) throws ProtocolError {
    long now = System.currentTimeMillis() / 1000;
    WalletCertificate c = WalletCertificate.issue(issuerSeed, "3333333333333333", wallet.publicKey(), limit, amount, "EUR",
        nextBase, now - 60, now + 86400);
    nextBase += amount;
    return c.bytes();
  }
}
