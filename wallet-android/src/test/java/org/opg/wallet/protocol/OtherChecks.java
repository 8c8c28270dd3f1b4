package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.opg.wallet.protocol.V.a;
import static org.opg.wallet.protocol.V.h;
import static org.opg.wallet.protocol.V.n;
import static org.opg.wallet.protocol.V.o;
import static org.opg.wallet.protocol.V.s;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** rfc.json, ed25519-strict.json, the command vectors, and any sealed MQTT message vector. */
final class OtherChecks {
  private OtherChecks() {}

  @SuppressWarnings("unchecked")
  static void hpke(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> v = o(d, "hpke");
    assertEquals(s(v, "skEm"), Bytes.hex(Hpke.deriveSecretKey(h(v, "ikmE"))));
    assertEquals(s(v, "skRm"), Bytes.hex(Hpke.deriveSecretKey(h(v, "ikmR"))));
    assertEquals(s(v, "pkEm"), Bytes.hex(Crypto.x25519PublicKey(h(v, "skEm"))));
    assertEquals(s(v, "pkRm"), Bytes.hex(Crypto.x25519PublicKey(h(v, "skRm"))));
    Hpke.Sender snd = Hpke.setupSender(h(v, "pkRm"), h(v, "info"), h(v, "skEm"));
    assertEquals(s(v, "enc"), Bytes.hex(snd.enc));
    assertEquals(s(v, "sharedSecret"), Bytes.hex(snd.sharedSecret));
    assertEquals(s(v, "key"), Bytes.hex(snd.ctx.key));
    assertEquals(s(v, "baseNonce"), Bytes.hex(snd.ctx.baseNonce));
    assertEquals(s(v, "exporterSecret"), Bytes.hex(snd.ctx.exporterSecret));
    Hpke.Context rcv = Hpke.setupRecipient(h(v, "enc"), h(v, "skRm"), h(v, "pkRm"), h(v, "info"));
    for (Object o : a(v, "encryptions")) {
      Map<String, Object> e = (Map<String, Object>) o;
      byte[] nonce = Hpke.nonce(snd.ctx.baseNonce, n(e, "seq"));
      assertEquals(s(e, "nonce"), Bytes.hex(nonce));
      assertEquals(s(e, "ct"), Bytes.hex(Crypto.aesGcmSeal(snd.ctx.key, nonce, h(v, "pt"), h(e, "aad"))));
      assertArrayEquals(h(v, "pt"), Crypto.aesGcmOpen(rcv.key, nonce, h(e, "ct"), h(e, "aad")));
    }
  }

  @SuppressWarnings("unchecked")
  static void cmac(Map<String, Object> d) throws ProtocolError {
    Map<String, Object> v = o(d, "cmac");
    for (Object o : a(v, "cases")) {
      Map<String, Object> c = (Map<String, Object>) o;
      assertEquals(s(c, "tag"), Bytes.hex(Crypto.aesCmac(h(v, "key"), h(c, "message"))));
    }
  }

  @SuppressWarnings("unchecked")
  static void base45List(Map<String, Object> d) throws ProtocolError {
    for (Object o : a(d, "base45")) {
      Map<String, Object> c = (Map<String, Object>) o;
      assertEquals(s(c, "base45"), Base45.encode(s(c, "text").getBytes(StandardCharsets.UTF_8)));
      assertEquals(s(c, "text"), new String(Base45.decode(s(c, "base45")), StandardCharsets.UTF_8));
    }
  }

  @SuppressWarnings("unchecked")
  static void ed25519List(Map<String, Object> d) {
    for (Object o : a(d, "ed25519")) {
      Map<String, Object> c = (Map<String, Object>) o;
      assertEquals(s(c, "publicKey"), Bytes.hex(Crypto.ed25519PublicKey(h(c, "secret"))), s(c, "name"));
      assertEquals(s(c, "signature"), Bytes.hex(Crypto.ed25519Sign(h(c, "secret"), h(c, "message"))), s(c, "name"));
      assertTrue(Crypto.ed25519Verify(h(c, "publicKey"), h(c, "message"), h(c, "signature")), s(c, "name"));
    }
  }

  @SuppressWarnings("unchecked")
  static void strict(Map<String, Object> d) {
    for (Object o : a(d, "cases")) {
      Map<String, Object> c = (Map<String, Object>) o;
      boolean valid = (Boolean) c.get("valid");
      assertEquals(valid, Crypto.ed25519Verify(h(c, "publicKey"), h(c, "message"), h(c, "signature")), s(c, "name"));
    }
  }

  /**
   * A sealed MQTT message vector {@code {message, sealed}} on {@code topic}: opened with the mqtt purpose key of
   * opg-v1.json's device, its CBOR equal to {@code message}, and sealed again with its own nonce, byte for byte.
   */
  static void sealedMessage(Map<String, Object> opg, String topic, Map<String, Object> v) throws ProtocolError {
    byte[] sealed = h(v, "sealed");
    byte[] key = OpgV1Checks.mqttKey(opg);
    String t = v.get("topic") instanceof String ? s(v, "topic") : topic;
    byte[] cbor = MqttSeal.open(key, t, sealed);
    V.assertCborEquals(v.get("message"), MqttMessage.decode(MessageChecks.kindOf(t), cbor), "message");
    assertArrayEquals(cbor, MqttMessage.encode(MessageChecks.kindOf(t), MessageChecks.json(v.get("message"))), "deterministic");
    assertArrayEquals(sealed, MqttSeal.seal(key, t, cbor, Bytes.slice(sealed, 1, 13)));
  }

  /** The per-type sequence rule of §8.1: apply only when seq &gt; marks[type]. */
  @SuppressWarnings("unchecked")
  static void sequence(Map<String, Object> cmds) throws ProtocolError {
    Map<String, Long> marks = new HashMap<>();
    for (Map.Entry<String, Object> e : cmds.entrySet()) {
      if (!(e.getValue() instanceof Map) || !((Map<String, Object>) e.getValue()).containsKey("sealed")) continue;
      Map<String, Object> msg = o((Map<String, Object>) e.getValue(), "message");
      String type = s(msg, "type");
      long seq = n(msg, "seq");
      if (seq > marks.getOrDefault(type, 0L)) marks.put(type, seq);
    }
    Map<String, Object> seq = o(cmds, "sequence");
    for (Map.Entry<String, Object> m : o(seq, "marks").entrySet()) {
      assertEquals(((Number) m.getValue()).longValue(), marks.get(m.getKey()).longValue(), "mark " + m.getKey());
    }
    for (Object o : (List<Object>) seq.get("checks")) {
      Map<String, Object> c = (Map<String, Object>) o;
      boolean apply = n(c, "seq") > marks.getOrDefault(s(c, "type"), 0L);
      assertEquals(c.get("apply"), apply, "check " + c);
    }
  }

  /** A chunking vector {@code {mtu, message, chunks}}: cut byte for byte, and joined back. */
  @SuppressWarnings("unchecked")
  static void chunking(Map<String, Object> v) throws ProtocolError {
    byte[] message = h(v, "message");
    List<Object> expected = (List<Object>) v.get("chunks");
    List<byte[]> got = BleFrame.chunk(message, (int) n(v, "mtu"));
    assertEquals(expected.size(), got.size(), "chunk count");
    BleFrame.Reassembler r = new BleFrame.Reassembler(BleFrame.DEFAULT_MAX_MESSAGE);
    byte[] joined = null;
    for (int i = 0; i < got.size(); i++) {
      assertEquals(expected.get(i), Bytes.hex(got.get(i)), "chunk " + i);
      joined = r.push(got.get(i));
    }
    assertArrayEquals(message, joined);
  }
}
