package org.opg.wallet.system;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.opg.wallet.BlePayment;
import org.opg.wallet.BridgeClient;
import org.opg.wallet.Json;
import org.opg.wallet.MemorySecureStore;
import org.opg.wallet.MerchantTarget;
import org.opg.wallet.Online;
import org.opg.wallet.Payment;
import org.opg.wallet.Wallet;
import org.opg.wallet.WalletException;
import org.opg.wallet.protocol.Bytes;
import org.opg.wallet.protocol.PaymentToken;
import org.opg.wallet.protocol.Receipt;

/**
 * The Java wallet against the real system: the bridge and a provisioned box from the e2e package, on free ports.
 * Register and load a purse; pay the box by QR (its camera loop renders and decodes the Java wallet's QR text) and
 * over BLE (the Java state machine against the box's GATT server); the four payment cases — both online (invoice,
 * box told over MQTT), both offline (QR, then both sync), box offline and customer online (invoice, box told by
 * SMS), box online and customer offline (held → confirmed when the payer syncs); a QR transfer; a claim; a cloned
 * wallet's double spend caught with proof; and tokens crossing languages both ways.
 */
@Tag("system")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SystemPaymentTest {
  private SystemStack stack;
  private BridgeClient operator;
  private BridgeClient client;
  private MemorySecureStore store;
  private Wallet wallet;
  private String currency;
  private Payment qrPayment;
  private Payment blePayment;

  @BeforeAll
  void start() throws Exception {
    stack = new SystemStack();
    currency = stack.str("currency");
    operator = new BridgeClient(stack.str("httpUrl"), stack.str("operatorKey"));
  }

  @AfterAll
  void stop() throws Exception {
    if (stack != null) stack.close();
  }

  private String status(String txId) throws WalletException {
    return Json.str(operator.payment(txId), "status");
  }

  @Test
  @Order(10)
  void registersAndLoadsAPurse() throws Exception {
    store = new MemorySecureStore();
    wallet = Wallet.create(store, null, System::currentTimeMillis);
    client = Online.register(wallet, operator, "+15550007001");
    assertNotNull(wallet.walletId());
    assertEquals(stack.str("tenantId"), wallet.tenantId());
    Map<String, Object> top = client.topUpByCard(wallet.walletId(), 10_000, currency, "tok_visa", "topup-" + UUID.randomUUID());
    assertEquals("succeeded", Json.str(top, "status"));
    assertEquals(10_000L, Json.num(client.balance(wallet.walletId()), "available"));
    assertEquals(4000, Online.loadPurse(wallet, client, 4000, 1500L, false).remaining);
    assertEquals(6000L, Json.num(client.balance(wallet.walletId()), "available"));
    assertEquals("purse_active", assertThrows(WalletException.class, () -> Online.loadPurse(wallet, client, 100, null, false)).code());
  }

  @Test
  @Order(20)
  void paysTheBoxOfflineByQr() throws Exception {
    qrPayment = wallet.pay(stack.str("sticker"), 450);
    Map<String, Object> out = stack.callMap("showQr", "text", qrPayment.qrText);
    assertEquals(true, out.get("ok"), "the box accepts the Java wallet's QR: " + out);
    Receipt r = wallet.acceptReceipt(qrPayment, Bytes.unhex(Json.str(out, "receipt")));
    assertEquals(qrPayment.txId, r.txId);
    // The same payment shown twice pays once.
    Map<String, Object> again = stack.callMap("showQr", "text", wallet.payment(qrPayment.txId).qrText);
    assertNotEquals(true, again.get("ok"));
  }

  @Test
  @Order(30)
  void paysOverBleAtALargeAndTheSmallestMtu() throws Exception {
    MerchantTarget box = wallet.readSticker(stack.str("sticker"));
    BlePayment large = new BlePayment(wallet, new PipeGattChannel(stack, 185), 10_000);
    BlePayment.Result r = large.pay(box, 700);
    assertEquals(BlePayment.State.DONE, large.state());
    assertArrayEquals(r.payment.token.hash(), r.receipt.tokenHash);
    assertNotNull(r.payment.token.challenge, "a BLE token carries the session challenge");
    blePayment = r.payment;
    BlePayment small = new BlePayment(wallet, new PipeGattChannel(stack, 23), 10_000);
    assertEquals(box.deviceId, small.pay(box, 125).receipt.deviceId);
    assertEquals(4000 - 450 - 700 - 125, wallet.purse().remaining);
    // A retry of a payment the box holds (SPEC §10 Retries) brings back the receipt it stored, records nothing new.
    Receipt again = new BlePayment(wallet, new PipeGattChannel(stack, 185), 10_000).retry(blePayment.txId);
    assertArrayEquals(r.receipt.bytes(), again.bytes());
    assertEquals(4000 - 450 - 700 - 125, wallet.purse().remaining);
  }

  @Test
  @Order(40)
  void case4BoxOnlineCustomerOfflineHeldThenConfirmedWhenThePayerSyncs() throws Exception {
    assertEquals(0L, Json.num(stack.callMap("syncBox"), "pendingCount"));
    assertEquals("held", status(qrPayment.txId));
    assertEquals("held", status(blePayment.txId));
    List<Map<String, Object>> results = Online.sync(wallet, client);
    assertEquals(3, results.size());
    for (Map<String, Object> x : results) assertNotEquals("rejected", x.get("outcome"), x.toString());
    assertEquals("confirmed", status(qrPayment.txId));
    assertEquals("confirmed", status(blePayment.txId));
    assertTrue(wallet.unsynced().isEmpty());
  }

  @Test
  @Order(50)
  void case1BothOnlineAnInvoicePaidFromTheWalletReachesTheBoxOverMqtt() throws Exception {
    Map<String, Object> inv = stack.callMap("invoice", "reference", "INV-J1", "amount", 800L);
    String qr = Json.str(inv, "qr");
    assertEquals(800L, Json.num(client.invoice(qr), "amount"));
    stack.call("watch", "ref", "INV-J1");
    String key = "inv-" + UUID.randomUUID();
    Map<String, Object> paid = client.payInvoice(qr, key, null);
    assertEquals("succeeded", Json.str(paid, "status"));
    assertEquals(Json.str(paid, "id"), Json.str(client.payInvoice(qr, key, null), "id"), "a retry returns the first payment");
    assertEquals("paid", Json.str(client.invoice(qr), "status"));
    Map<String, Object> heard = stack.callMap("heard", "ref", "INV-J1");
    assertEquals("mqtt", heard.get("via"));
    assertEquals(800L, Json.num(heard, "amount"));
  }

  @Test
  @Order(51)
  void case2BoxAndCustomerOfflineQrThenBothSync() throws Exception {
    stack.call("boxOffline");
    try {
      Payment p = wallet.pay(stack.str("sticker"), 200);
      Map<String, Object> out = stack.callMap("showQr", "text", p.qrText);
      assertEquals(true, out.get("ok"), "the offline box accepts: " + out);
      wallet.acceptReceipt(p, Bytes.unhex(Json.str(out, "receipt")));
      assertEquals("not_found", assertThrows(WalletException.class, () -> operator.payment(p.txId)).remoteCode(),
          "the bridge knows nothing yet");
      stack.call("boxOnline");
      assertEquals(0L, Json.num(stack.callMap("syncBox"), "pendingCount"));
      assertEquals("held", status(p.txId));
      Online.sync(wallet, client);
      assertEquals("confirmed", status(p.txId));
    } finally {
      stack.call("boxOnline");
    }
  }

  @Test
  @Order(52)
  void case3BoxOfflineCustomerOnlineTheBoxHearsBySms() throws Exception {
    Map<String, Object> inv = stack.callMap("invoice", "reference", "INV-J2", "amount", 650L);
    stack.call("boxOffline");
    try {
      stack.call("watch", "ref", "INV-J2");
      Map<String, Object> paid = client.payInvoice(Json.str(inv, "qr"), "inv-" + UUID.randomUUID(), null);
      assertEquals("succeeded", Json.str(paid, "status"));
      Map<String, Object> heard = stack.callMap("heard", "ref", "INV-J2");
      assertEquals("sms", heard.get("via"), "the offline box verifies the authenticated SMS");
      assertEquals(650L, Json.num(heard, "amount"));
    } finally {
      stack.call("boxOnline");
    }
  }

  @Test
  @Order(60)
  void makesAQrTransfer() throws Exception {
    long before = Json.num(client.balance(wallet.walletId()), "available");
    MerchantTarget box = wallet.readSticker(stack.str("sticker"));
    Map<String, Object> tr = client.transfer(wallet.walletId(), box, 300, currency, "coffee", "tr-" + UUID.randomUUID());
    assertEquals("succeeded", Json.str(tr, "status"));
    assertEquals(before - 300, Json.num(client.balance(wallet.walletId()), "available"));
    WalletException e = assertThrows(WalletException.class,
        () -> client.transfer(wallet.walletId(), box, 1_000_000, currency, null, "tr-" + UUID.randomUUID()));
    assertEquals("bridge", e.code());
    assertNotNull(e.remoteCode(), "the bridge's code is passed on");
  }

  @Test
  @Order(70)
  void filesAClaim() throws Exception {
    Map<String, Object> c = Online.claim(wallet, client, qrPayment.txId, "I did not buy this");
    assertEquals("open", Json.str(c, "status"));
    assertEquals("claimed", status(qrPayment.txId));
    WalletException again = assertThrows(WalletException.class, () -> client.fileClaim(wallet.walletId(), qrPayment.txId, "again"));
    assertEquals("bridge", again.code());
  }

  @Test
  @Order(80)
  void aClonedWalletsDoubleSpendIsCaughtWithProof() throws Exception {
    MemorySecureStore fayStore = new MemorySecureStore();
    Wallet fay = Wallet.create(fayStore, null, System::currentTimeMillis);
    BridgeClient fayClient = Online.register(fay, operator, "+15550007002");
    fayClient.topUpByCard(fay.walletId(), 3000, currency, "tok_visa", "topup-" + UUID.randomUUID());
    Online.loadPurse(fay, fayClient, 2000, 1000L, false);
    Wallet clone = Wallet.open(fayStore.copy(), System::currentTimeMillis);
    Payment first = fay.pay(stack.str("sticker"), 600);
    assertEquals(true, stack.callMap("showQr", "text", first.qrText).get("ok"));
    stack.call("syncBox");
    Payment second = clone.pay(stack.str("sticker"), 600);
    assertEquals(first.token.counter, second.token.counter, "the clone signs the same counter");
    Map<String, Object> refused = stack.callMap("showQr", "text", second.qrText);
    assertEquals("replay", refused.get("code"), "the box refuses the clone: " + refused);
    Online.sync(clone, fayClient);
    assertEquals("double_spend", status(second.txId));
    assertEquals("held", status(first.txId), "the first payment stays honoured");
    assertEquals(true, operator.call("GET", "/v1/wallets/" + fay.walletId(), null).get("frozen"));
    Map<String, Object> proof = stack.callMap("proof", "txId", second.txId);
    assertNotNull(proof, "the bridge keeps a proof");
    assertEquals(true, proof.get("valid"), "both tokens verify, same wallet and counter: " + proof);
    assertEquals(first.token.counter, Json.num(proof, "counter"));
  }

  @Test
  @Order(90)
  void aTokenSignedByTheTypeScriptWalletVerifiesInJava() throws Exception {
    Map<String, Object> ts = stack.callMap("tsPay", "phone", "+15550007003", "amount", 250L);
    PaymentToken t = PaymentToken.decode(Bytes.unhex(Json.str(ts, "token")));
    MerchantTarget box = wallet.readSticker(stack.str("sticker"));
    t.verify(operator.issuerKeys(), System.currentTimeMillis() / 1000, box.merchantId, box.deviceId, null);
    assertEquals(250, t.amount);
    assertEquals(Json.str(ts, "walletId"), t.walletId());
    assertArrayEquals(PaymentToken.chainStart(t.cert), t.prevHash);
    // And the box takes it: one QR format, two implementations.
    assertEquals(true, stack.callMap("showQr", "text", Json.str(ts, "qrText")).get("ok"));
  }
}
