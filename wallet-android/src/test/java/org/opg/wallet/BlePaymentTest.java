package org.opg.wallet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.opg.wallet.protocol.Crypto;

/** The wallet's BLE state machine against a box in the JVM: MTUs, a fake box, a refusal, silence, reuse. */
class BlePaymentTest {
  private TestIssuer issuer;
  private Wallet wallet;
  private MerchantTarget box;

  @BeforeEach
  void setUp() throws Exception {
    issuer = new TestIssuer();
    wallet = Wallet.create(new MemorySecureStore(), issuer.keyring(), System::currentTimeMillis);
    wallet.installPurse(issuer.purse(wallet, 2000, 1000));
    box = wallet.readSticker(issuer.sticker);
  }

  @Test
  void paysAtEveryMtuWithTheHelloInTheStateWriteWhenItFits() throws Exception {
    for (int mtu : new int[] {23, 36, 37, 185, 517}) {
      JvmBoxChannel ch = new JvmBoxChannel(issuer, mtu);
      BlePayment p = new BlePayment(wallet, ch, 1000);
      BlePayment.Result r = p.pay(box, 10);
      assertEquals(BlePayment.State.DONE, p.state());
      assertEquals(r.payment.txId, r.receipt.txId);
      assertTrue(ch.closed, "the channel is closed");
      // start (+ hello when 34 bytes fit in MTU − 3) and end
      assertEquals(2, ch.stateWrites, "two State writes at MTU " + mtu);
    }
    assertEquals(5, wallet.log().size());
    assertTrue(wallet.log().stream().allMatch(e -> e.receipt != null));
  }

  @Test
  void aBoxWithoutTheNodeKeyGetsNothingOfValue() throws Exception {
    JvmBoxChannel fake = new JvmBoxChannel(issuer, 185);
    fake.signingSeed = Crypto.randomBytes(32);
    BlePayment p = new BlePayment(wallet, fake, 1000);
    assertEquals("forged_sticker", assertThrows(WalletException.class, () -> p.pay(box, 10)).code());
    assertEquals(BlePayment.State.FAILED, p.state());
    assertEquals(0, wallet.log().size(), "no token was signed");
  }

  @Test
  void aRefusalIsRecordedAndNeverUploaded() throws Exception {
    JvmBoxChannel ch = new JvmBoxChannel(issuer, 185);
    ch.refuseWith = "exposure_cap";
    WalletException e = assertThrows(WalletException.class, () -> new BlePayment(wallet, ch, 1000).pay(box, 10));
    assertEquals("ble", e.code());
    assertEquals("exposure_cap", e.remoteCode());
    assertEquals("exposure_cap", wallet.log().get(0).refused);
    assertEquals(0, wallet.unsynced().size());
    assertEquals(1990, wallet.purse().remaining, "a sent token stays spent");
  }

  @Test
  void silenceIsATimeoutAndTheMachineCannotBeReused() throws Exception {
    JvmBoxChannel ch = new JvmBoxChannel(issuer, 185);
    ch.silent = true;
    BlePayment p = new BlePayment(wallet, ch, 50);
    WalletException e = assertThrows(WalletException.class, () -> p.pay(box, 10));
    assertEquals("ble", e.code());
    assertEquals(BlePayment.State.FAILED, p.state());
    assertEquals("ble", assertThrows(WalletException.class, () -> p.pay(box, 10)).code());
  }

  @Test
  void anotherBoxThanTheStickersIsNotConnected() throws Exception {
    TestIssuer other = new TestIssuer();
    JvmBoxChannel ch = new JvmBoxChannel(issuer, 185);
    MerchantTarget elsewhere = new MerchantTarget(
        org.opg.wallet.protocol.NodeCertificate.issue(issuer.issuerSeed, "0a0b0c0d0e0f1011", "1111111111111111",
            "9999999999999999", other.nodeCert.signingKey, other.nodeCert.encryptionKey, 1, 4102444800L), "x");
    assertEquals("ble", assertThrows(WalletException.class, () -> new BlePayment(wallet, ch, 100).pay(elsewhere, 10)).code());
  }

  @Test
  void aLostReceiptIsFetchedByPresentingTheSameToken() throws Exception {
    java.util.Map<String, byte[]> journal = new java.util.HashMap<>();
    JvmBoxChannel first = new JvmBoxChannel(issuer, 185, journal);
    first.loseReceipt = true;
    assertEquals("ble", assertThrows(WalletException.class, () -> new BlePayment(wallet, first, 50).pay(box, 40)).code());
    String txId = wallet.log().get(0).txId;
    assertEquals(null, wallet.log().get(0).receipt);
    org.opg.wallet.protocol.Receipt r = new BlePayment(wallet, new JvmBoxChannel(issuer, 185, journal), 1000).retry(txId);
    assertEquals(txId, r.txId);
    assertEquals(1, journal.size(), "the box recorded the payment once");
    assertEquals(1, wallet.log().size(), "no second token was signed");
  }

  @Test
  void aBoxThatNeverGotTheTokenRefusesItsRetry() throws Exception {
    JvmBoxChannel first = new JvmBoxChannel(issuer, 185);
    first.silent = true;
    // The link drops after the hello: the wallet signs nothing yet.
    assertThrows(WalletException.class, () -> new BlePayment(wallet, first, 50).pay(box, 40));
    assertEquals(0, wallet.log().size());
    // A token that reached no box (shown as QR but never scanned): retried over BLE, the old challenge is refused.
    Payment p = wallet.pay(box, 40, org.opg.wallet.protocol.Crypto.randomBytes(8));
    assertEquals(null, new BlePayment(wallet, new JvmBoxChannel(issuer, 185), 1000).retry(p.txId));
    assertEquals("bad_challenge", wallet.log().get(0).refused);
  }
}
