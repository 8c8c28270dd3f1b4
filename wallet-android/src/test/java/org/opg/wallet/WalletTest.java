package org.opg.wallet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.opg.wallet.protocol.Crypto;
import org.opg.wallet.protocol.Envelope;
import org.opg.wallet.protocol.PaymentToken;
import org.opg.wallet.protocol.ProtocolError;
import org.opg.wallet.protocol.Receipt;

/** The wallet offline: what the box receives verifies, the chain links, the refusals, and the write-ahead counter. */
class WalletTest {
  private TestIssuer issuer;
  private MemorySecureStore store;
  private Wallet wallet;

  @BeforeEach
  void setUp() throws Exception {
    issuer = new TestIssuer();
    store = new MemorySecureStore();
    wallet = Wallet.create(store, issuer.keyring(), System::currentTimeMillis);
    wallet.installPurse(issuer.purse(wallet, 2000, 1000));
  }

  /** What the box does with the QR text: open the envelope, verify the token for itself. */
  private PaymentToken boxReads(Payment p) throws ProtocolError {
    byte[] token = Envelope.open(issuer.nodeEncSecret, Crypto.x25519PublicKey(issuer.nodeEncSecret), Envelope.fromQrText(p.qrText));
    PaymentToken t = PaymentToken.decode(token);
    t.verify(issuer.keyring(), System.currentTimeMillis() / 1000, issuer.nodeCert.merchantId, issuer.nodeCert.deviceId, null);
    return t;
  }

  @Test
  void paymentsVerifyAtTheBoxAndChain() throws Exception {
    Payment a = wallet.pay(issuer.sticker, 300);
    Payment b = wallet.pay(issuer.sticker, 450);
    PaymentToken ta = boxReads(a);
    PaymentToken tb = boxReads(b);
    assertEquals(1, ta.counter);
    assertEquals(2, tb.counter);
    assertArrayEquals(PaymentToken.chainStart(ta.cert), ta.prevHash);
    assertArrayEquals(ta.hash(), tb.prevHash);
    assertEquals(2000 - 750, wallet.purse().remaining);
    assertEquals(2, wallet.unsynced().size());
    // Shown again: the same token in a fresh envelope.
    assertArrayEquals(ta.bytes(), boxReads(wallet.payment(a.txId)).bytes());
  }

  @Test
  void refusesWhatTheBoxWouldRefuse() throws Exception {
    assertEquals("over_limit", assertThrows(WalletException.class, () -> wallet.pay(issuer.sticker, 1001)).code());
    assertEquals("bad_amount", assertThrows(WalletException.class, () -> wallet.pay(issuer.sticker, 0)).code());
    wallet.pay(issuer.sticker, 1000);
    wallet.pay(issuer.sticker, 900);
    assertEquals("purse_exhausted", assertThrows(WalletException.class, () -> wallet.pay(issuer.sticker, 101)).code());
    TestIssuer other = new TestIssuer();
    assertEquals("forged_sticker", assertThrows(WalletException.class, () -> wallet.pay(other.sticker, 10)).code());
    assertEquals("bad_sticker", assertThrows(WalletException.class, () -> wallet.pay("OPG1:nope", 10)).code());
    assertEquals("wallet_exists", assertThrows(WalletException.class, () -> Wallet.create(store, null, System::currentTimeMillis)).code());
  }

  @Test
  void purseCertificatesAreChecked() throws Exception {
    Wallet fresh = Wallet.create(new MemorySecureStore(), issuer.keyring(), System::currentTimeMillis);
    assertEquals("no_purse", assertThrows(WalletException.class, () -> fresh.pay(issuer.sticker, 10)).code());
    byte[] forWallet = issuer.purse(wallet, 100, 100);
    assertEquals("bad_certificate", assertThrows(WalletException.class, () -> fresh.installPurse(forWallet)).code());
    // A used certificate cannot be reinstalled to reset its remaining amount.
    byte[] first = issuer.purse(wallet, 500, 500);
    wallet.installPurse(first);
    wallet.pay(issuer.sticker, 10);
    wallet.installPurse(issuer.purse(wallet, 500, 500));
    wallet.pay(issuer.sticker, 10);
    assertEquals("bad_certificate", assertThrows(WalletException.class, () -> wallet.installPurse(first)).code());
  }

  @Test
  void receiptsAreVerified() throws Exception {
    Payment a = wallet.pay(issuer.sticker, 300);
    Payment b = wallet.pay(issuer.sticker, 200);
    Receipt ra = Receipt.sign(issuer.nodeSigningSeed, a.token, System.currentTimeMillis() / 1000);
    wallet.acceptReceipt(a, ra.bytes());
    assertEquals(org.opg.wallet.protocol.Bytes.hex(ra.bytes()), wallet.log().get(0).receipt);
    assertEquals("bad_receipt", assertThrows(WalletException.class, () -> wallet.acceptReceipt(b, ra.bytes())).code());
    Receipt forged = Receipt.sign(Crypto.randomBytes(32), b.token, System.currentTimeMillis() / 1000);
    assertEquals("bad_receipt", assertThrows(WalletException.class, () -> wallet.acceptReceipt(b, forged.bytes())).code());
  }

  /** A store that loses power on the n-th write: that write and everything after never happen. */
  static final class PowerCut implements SecureStore {
    final SecureStore inner;
    int writesLeft;

    PowerCut(SecureStore inner, int writesLeft) {
      this.inner = inner;
      this.writesLeft = writesLeft;
    }

    @Override
    public byte[] get(String key) throws IOException {
      return inner.get(key);
    }

    @Override
    public void put(String key, byte[] value) throws IOException {
      if (writesLeft-- <= 0) throw new IOException("power cut");
      inner.put(key, value);
    }

    @Override
    public void delete(String key) throws IOException {
      inner.delete(key);
    }
  }

  @Test
  void aCrashAfterTheWriteAheadNeverReusesTheCounter() throws Exception {
    wallet.pay(issuer.sticker, 100);
    // The write-ahead record reaches the store; the commit after signing does not.
    Wallet crashing = Wallet.open(new PowerCut(store, 1), System::currentTimeMillis);
    assertEquals("storage", assertThrows(WalletException.class, () -> crashing.pay(issuer.sticker, 250)).code());
    Wallet restarted = Wallet.open(store, System::currentTimeMillis);
    assertEquals(1, restarted.recovered().size(), "the interrupted payment is finished, not dropped");
    LogEntry rec = restarted.log().get(1);
    assertEquals(restarted.recovered().get(0), rec.txId);
    assertEquals(2, rec.counter);
    assertEquals(250, rec.amount);
    assertTrue(rec.recovered);
    Payment next = restarted.pay(issuer.sticker, 50);
    assertEquals(3, next.token.counter, "the next payment takes a new counter");
    assertArrayEquals(PaymentToken.decode(org.opg.wallet.protocol.Bytes.unhex(rec.token)).hash(), next.token.prevHash);
    assertEquals(2000 - 400, restarted.purse().remaining);
  }

  @Test
  void aCrashBeforeTheWriteAheadSpendsNothing() throws Exception {
    Wallet crashing = Wallet.open(new PowerCut(store, 0), System::currentTimeMillis);
    assertEquals("storage", assertThrows(WalletException.class, () -> crashing.pay(issuer.sticker, 250)).code());
    Wallet restarted = Wallet.open(store, System::currentTimeMillis);
    assertEquals(0, restarted.recovered().size());
    assertEquals(1, restarted.pay(issuer.sticker, 10).token.counter);
  }

  @Test
  void aDamagedStateIsAStorageError() throws Exception {
    MemorySecureStore s = new MemorySecureStore();
    s.put("wallet", "{not json".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals("storage", assertThrows(WalletException.class, () -> Wallet.open(s, System::currentTimeMillis)).code());
    assertEquals("no_wallet", assertThrows(WalletException.class, () -> Wallet.open(new MemorySecureStore(), System::currentTimeMillis)).code());
  }

  @Test
  void theBridgeUrlMustBeHttpsExceptLoopback() throws Exception {
    for (String bad : new String[] {"http://bridge.example.com", "ftp://127.0.0.1", "not a url", "http://127.0.0.1.evil.com"}) {
      assertEquals("insecure_url", assertThrows(WalletException.class, () -> new BridgeClient(bad, null)).code(), bad);
    }
    new BridgeClient("https://bridge.example.com/", null);
    new BridgeClient("http://localhost:8080", null);
    new BridgeClient("http://127.0.0.1:1", null);
    new BridgeClient("http://[::1]:1", null);
    // Nothing listens on port 1 of loopback: offline, not an unchecked exception.
    assertEquals("offline", assertThrows(WalletException.class, () -> new BridgeClient("http://127.0.0.1:1", null, 2000).tenant()).code());
  }
}
