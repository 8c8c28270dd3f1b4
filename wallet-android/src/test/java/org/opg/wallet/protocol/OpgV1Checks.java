package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.opg.wallet.protocol.V.a;
import static org.opg.wallet.protocol.V.h;
import static org.opg.wallet.protocol.V.n;
import static org.opg.wallet.protocol.V.o;
import static org.opg.wallet.protocol.V.s;

import java.util.List;
import java.util.Map;

/** Each section of opg-v1.json: decoded, verified, and re-encoded byte for byte from its secrets and fields. */
final class OpgV1Checks {
  private OpgV1Checks() {}

  static void keys(Map<String, Object> d) {
    Map<String, Object> k = o(d, "keys");
    assertEquals(s(k, "issuerPublic"), Bytes.hex(Crypto.ed25519PublicKey(h(k, "issuerSecret"))));
    assertEquals(s(k, "issuerKeyId"), Crypto.keyId(h(k, "issuerPublic")));
    assertEquals(s(k, "walletPublic"), Bytes.hex(Crypto.ed25519PublicKey(h(k, "walletSecret"))));
    assertEquals(s(k, "nodeSigningPublic"), Bytes.hex(Crypto.ed25519PublicKey(h(k, "nodeSigningSecret"))));
    assertEquals(s(k, "nodeEncryptionPublic"), Bytes.hex(Crypto.x25519PublicKey(h(k, "nodeEncryptionSecret"))));
  }

  static void kdf(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> k = o(d, "kdf");
    byte[] secret = h(o(d, "keys"), "deviceSecret");
    int checked = 0;
    for (String purpose : Kdf.PURPOSES) {
      if (!k.containsKey(purpose)) continue;
      assertEquals(s(k, purpose), Bytes.hex(Kdf.deriveKey(secret, purpose, h(k, "deviceId"))), purpose);
      checked++;
    }
    assertTrue(checked >= 4, "purpose keys checked");
  }

  static WalletCertificate walletCert(Map<String, Object> d) throws ProtocolError {
    return WalletCertificate.decode(h(o(o(d, "certificates"), "wallet"), "bytes"));
  }

  static NodeCertificate nodeCert(Map<String, Object> d) throws ProtocolError {
    return NodeCertificate.decode(h(o(o(d, "certificates"), "node"), "bytes"));
  }

  static void certificates(Map<String, Object> d) throws ProtocolError {
    byte[] issuer = h(o(d, "keys"), "issuerSecret");
    Map<String, Object> w = o(o(d, "certificates"), "wallet");
    Map<String, Object> f = o(w, "fields");
    WalletCertificate wc = walletCert(d);
    assertEquals(s(f, "issuerKeyId"), wc.issuerKeyId);
    assertEquals(s(f, "walletId"), wc.walletId);
    assertEquals(s(f, "publicKey"), Bytes.hex(wc.publicKey));
    assertEquals(n(f, "perPaymentLimit"), wc.perPaymentLimit);
    assertEquals(n(f, "purseAmount"), wc.purseAmount);
    assertEquals(s(f, "currency"), wc.currency);
    assertEquals(n(f, "counterBase"), wc.counterBase);
    assertEquals(n(f, "issuedAt"), wc.issuedAt);
    assertEquals(n(f, "expiresAt"), wc.expiresAt);
    wc.verify(V.keyring(d), n(f, "issuedAt"));
    WalletCertificate again = WalletCertificate.issue(issuer, wc.walletId, wc.publicKey, wc.perPaymentLimit, wc.purseAmount,
        wc.currency, wc.counterBase, wc.issuedAt, wc.expiresAt);
    assertEquals(s(w, "bytes"), Bytes.hex(again.bytes()));

    Map<String, Object> nd = o(o(d, "certificates"), "node");
    Map<String, Object> nf = o(nd, "fields");
    NodeCertificate nc = nodeCert(d);
    assertEquals(s(nf, "tenantId"), nc.tenantId);
    assertEquals(s(nf, "merchantId"), nc.merchantId);
    assertEquals(s(nf, "deviceId"), nc.deviceId);
    assertEquals(s(nf, "signingKey"), Bytes.hex(nc.signingKey));
    assertEquals(s(nf, "encryptionKey"), Bytes.hex(nc.encryptionKey));
    nc.verify(V.keyring(d), n(nf, "issuedAt"));
    NodeCertificate nagain = NodeCertificate.issue(issuer, nc.tenantId, nc.merchantId, nc.deviceId, nc.signingKey,
        nc.encryptionKey, nc.issuedAt, nc.expiresAt);
    assertEquals(s(nd, "bytes"), Bytes.hex(nagain.bytes()));
  }

  static PaymentToken token(Map<String, Object> d) throws ProtocolError {
    return PaymentToken.decode(h(o(d, "token"), "bytes"));
  }

  static void token(Map<String, Object> d, boolean unused) throws ProtocolError {
    Map<String, Object> t = o(d, "token");
    Map<String, Object> f = o(t, "fields");
    PaymentToken tok = token(d);
    WalletCertificate wc = walletCert(d);
    NodeCertificate nc = nodeCert(d);
    assertEquals(s(f, "txId"), tok.txId);
    assertEquals(s(f, "merchantId"), tok.merchantId);
    assertEquals(s(f, "deviceId"), tok.deviceId);
    assertEquals(n(f, "amount"), tok.amount);
    assertEquals(n(f, "counter"), tok.counter);
    assertEquals(s(f, "prevHash"), Bytes.hex(tok.prevHash));
    assertEquals(n(f, "walletTime"), tok.walletTime);
    assertNull(tok.challenge);
    assertEquals(s(t, "chainStart"), Bytes.hex(PaymentToken.chainStart(wc)));
    assertEquals(s(t, "tokenHash"), Bytes.hex(tok.hash()));
    tok.verify(V.keyring(d), n(f, "walletTime"), nc.merchantId, nc.deviceId, null);
    byte[] body = PaymentToken.body(wc, tok.txId, tok.merchantId, tok.deviceId, tok.amount, tok.counter, tok.prevHash,
        tok.walletTime, null);
    assertEquals(s(t, "bytes"), Bytes.hex(PaymentToken.sign(h(o(d, "keys"), "walletSecret"), body).bytes()));
    // Envelope and QR text: sealed again with the fixed ephemeral key, opened with the box key.
    byte[] env = Envelope.seal(nc.encryptionKey, tok.bytes(), h(t, "envelopeEphemeralSecret"));
    assertEquals(s(t, "envelope"), Bytes.hex(env));
    assertEquals(s(t, "qrText"), Envelope.qrText(env));
    assertArrayEquals(env, Envelope.fromQrText(s(t, "qrText")));
    Map<String, Object> k = o(d, "keys");
    assertArrayEquals(tok.bytes(), Envelope.open(h(k, "nodeEncryptionSecret"), h(k, "nodeEncryptionPublic"), env));
  }

  static void receipt(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> r = o(d, "receipt");
    Receipt rc = Receipt.decode(h(r, "bytes"));
    PaymentToken tok = token(d);
    assertEquals(n(r, "acceptedAt"), rc.acceptedAt);
    rc.verify(nodeCert(d).signingKey, tok);
    assertEquals(s(r, "bytes"), Bytes.hex(Receipt.sign(h(o(d, "keys"), "nodeSigningSecret"), tok, rc.acceptedAt).bytes()));
  }

  static void sticker(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> st = o(d, "sticker");
    Sticker sk = Sticker.decode(s(st, "text"));
    assertEquals(s(st, "merchantName"), sk.merchantName);
    assertArrayEquals(nodeCert(d).bytes(), sk.nodeCert.bytes());
    sk.nodeCert.verify(V.keyring(d), sk.nodeCert.issuedAt);
    assertEquals(s(st, "text"), sk.encode());
  }

  static byte[] mqttKey(Map<String, Object> d) throws ProtocolError {
    return Kdf.deriveKey(h(o(d, "keys"), "deviceSecret"), "mqtt", h(o(d, "kdf"), "deviceId"));
  }

  @SuppressWarnings("unchecked")
  static void mqtt(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> m = o(d, "mqtt");
    byte[] payload = h(m, "batchCbor");
    byte[] cbor = MqttSeal.open(mqttKey(d), s(m, "topic"), payload);
    assertArrayEquals(payload, MqttSeal.seal(mqttKey(d), s(m, "topic"), cbor, h(m, "nonce")));
    Map<String, Object> batch = MqttMessage.decode("up/tx", cbor);
    assertArrayEquals(cbor, CborEncoder.encode(batch), "the TxBatch is deterministic CBOR");
    assertEquals(1L, Cbor.asLong(batch.get("v")));
    assertTrue(batch.get("batch") instanceof String, "batch id is text");
    List<Object> records = (List<Object>) batch.get("records");
    assertEquals(1, records.size());
    Map<String, Object> rec = (Map<String, Object>) records.get(0);
    assertArrayEquals(token(d).bytes(), (byte[]) rec.get("token"));
    assertEquals(s(o(d, "receipt"), "bytes"), Bytes.hex((byte[]) rec.get("receipt")));
    assertEquals("qr", rec.get("channel"));
    assertEquals(n(o(d, "receipt"), "acceptedAt") * 1000, Cbor.asLong(rec.get("acceptedAt")));
    // A payload moved to another topic does not open.
    ProtocolError e = org.junit.jupiter.api.Assertions.assertThrows(ProtocolError.class,
        () -> MqttSeal.open(mqttKey(d), s(m, "topic").replace("up/tx", "up/status"), payload));
    assertEquals("bad_tag", e.code());
  }

  static void sms(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> sm = o(d, "sms");
    Map<String, Object> msg = o(sm, "message");
    byte[] deviceId = h(o(d, "kdf"), "deviceId");
    byte[] key = Kdf.deriveKey(h(o(d, "keys"), "deviceSecret"), "sms", deviceId);
    assertEquals(s(sm, "text"), Kdf.paidSms(key, Bytes.hex(deviceId), s(msg, "ref"), n(msg, "amount"), s(msg, "currency"), n(msg, "counter")));
  }

  static void ble(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> b = o(d, "ble");
    Map<String, Object> k = o(d, "keys");
    NodeCertificate nc = nodeCert(d);
    BleSession.WalletHandshake hs = BleSession.walletHello(h(b, "walletEphemeralSecret"));
    assertEquals(s(b, "walletHello"), Bytes.hex(hs.message));
    BleSession.Established box = BleSession.boxRespond(h(k, "nodeSigningSecret"), nc, hs.message, h(b, "boxEphemeralSecret"), h(b, "challenge"));
    assertEquals(s(b, "boxHello"), Bytes.hex(box.message));
    BleSession.Established wallet = BleSession.walletFinish(hs, h(b, "boxHello"), V.keyring(d), nc.deviceId, nc.issuedAt);
    assertArrayEquals(h(b, "challenge"), wallet.challenge);
    PaymentToken bleToken = PaymentToken.decode(h(b, "token"));
    assertArrayEquals(h(b, "challenge"), bleToken.challenge);
    bleToken.verify(V.keyring(d), bleToken.walletTime, nc.merchantId, nc.deviceId, wallet.challenge);
    assertArrayEquals(token(d).hash(), bleToken.prevHash, "the BLE token chains on the QR token");
    assertEquals(s(b, "token"), Bytes.hex(PaymentToken.sign(h(k, "walletSecret"), bleToken.body()).bytes()));
    byte[] sealedToken = wallet.cipher.seal(BleSession.Inner.token(bleToken.bytes()));
    assertEquals(s(b, "sealedToken"), Bytes.hex(sealedToken));
    BleSession.Inner in = BleSession.Inner.decode(box.cipher.open(sealedToken));
    assertEquals(BleSession.INNER_TOKEN, in.kind);
    assertArrayEquals(bleToken.bytes(), in.body);
    Receipt receipt = Receipt.sign(h(k, "nodeSigningSecret"), bleToken,
        n(o(o(o(d, "certificates"), "wallet"), "fields"), "issuedAt") + 3701);
    byte[] sealedReceipt = box.cipher.seal(BleSession.Inner.receipt(receipt.bytes()));
    assertEquals(s(b, "sealedReceipt"), Bytes.hex(sealedReceipt));
    BleSession.Inner out = BleSession.Inner.decode(wallet.cipher.open(h(b, "sealedReceipt")));
    assertEquals(BleSession.INNER_RECEIPT, out.kind);
    Receipt.decode(out.body).verify(nc.signingKey, bleToken);
  }

  static void base45(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> b = o(d, "base45");
    assertEquals(s(b, "text"), Base45.encode(h(b, "hex")));
    assertEquals(s(b, "hex"), Bytes.hex(Base45.decode(s(b, "text"))));
  }
}
