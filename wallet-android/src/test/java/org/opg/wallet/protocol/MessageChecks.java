package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.opg.wallet.protocol.V.a;
import static org.opg.wallet.protocol.V.h;
import static org.opg.wallet.protocol.V.o;
import static org.opg.wallet.protocol.V.s;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * opg-v1-messages.json: each MQTT message built from its JSON by the field types of SPEC.md §8 and encoded to its
 * {@code cbor} byte for byte, decoded back, opened from {@code sealed} and sealed again; the legacy TxBatch decoded
 * and re-encoded to its canonical form; the BLE error, State write and chunks rebuilt from opg-v1.json's session.
 */
final class MessageChecks {
  private MessageChecks() {}

  /** The only byte-string fields of §8's messages (TxBatch records); every other string is CBOR text. */
  private static final List<String> BYTES_FIELDS = Arrays.asList("token", "receipt");

  /** A JSON message as CBOR values: byte fields (hex in the vectors) to byte[], whole numbers to Long. */
  @SuppressWarnings("unchecked")
  static Object fromJson(Object v, String field) {
    if (v instanceof Map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) out.put(e.getKey(), fromJson(e.getValue(), e.getKey()));
      return out;
    }
    if (v instanceof List) {
      List<Object> out = new ArrayList<>();
      for (Object x : (List<Object>) v) out.add(fromJson(x, field));
      return out;
    }
    if (v instanceof String && BYTES_FIELDS.contains(field)) return Bytes.unhex((String) v);
    return v;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> json(Object message) {
    return (Map<String, Object>) fromJson(message, "");
  }

  /** The topic kind ({@code up/tx} …) of a full topic. */
  static String kindOf(String topic) {
    String[] p = topic.split("/");
    return p[p.length - 2] + "/" + p[p.length - 1];
  }

  /** One message vector {@code {topic, message, cbor, nonce, sealed}}. */
  static void message(Map<String, Object> opg, Map<String, Object> v) throws ProtocolError {
    byte[] cbor = h(v, "cbor");
    String kind = kindOf(s(v, "topic"));
    assertEquals(s(v, "cbor"), Bytes.hex(MqttMessage.encode(kind, json(v.get("message")))), "encoded from the message");
    Object decoded = MqttMessage.decode(kind, cbor);
    V.assertCborEquals(v.get("message"), decoded, "message");
    assertArrayEquals(cbor, CborEncoder.encode(decoded), "decoded and encoded again");
    byte[] key = OpgV1Checks.mqttKey(opg);
    byte[] sealed = h(v, "sealed");
    assertArrayEquals(h(v, "nonce"), Bytes.slice(sealed, 1, 13), "nonce");
    assertArrayEquals(cbor, MqttSeal.open(key, s(v, "topic"), sealed), "opened");
    assertEquals(s(v, "sealed"), Bytes.hex(MqttSeal.seal(key, s(v, "topic"), cbor, h(v, "nonce"))), "sealed again");
  }

  /** {@code commands}: every command vector, in file order. */
  @SuppressWarnings("unchecked")
  static void commands(Map<String, Object> opg, Map<String, Object> cmds) throws ProtocolError {
    for (Object c : cmds.values()) message(opg, (Map<String, Object>) c);
  }

  /** {@code legacy}: the older encoding decodes to the message, and re-encodes to {@code canonical}. */
  static void legacy(Map<String, Object> l) throws ProtocolError {
    byte[] old = h(l, "cbor");
    byte[] canonical = h(l, "canonical");
    assertNotEquals(s(l, "cbor"), s(l, "canonical"));
    Map<String, Object> decoded = MqttMessage.decode("up/tx", old);
    V.assertCborEquals(l.get("message"), decoded, "legacy message");
    assertEquals(s(l, "canonical"), Bytes.hex(MqttMessage.encode("up/tx", decoded)), "legacy re-encoded");
    assertEquals(s(l, "canonical"), Bytes.hex(MqttMessage.encode("up/tx", json(l.get("message")))), "encoded from the message");
    assertArrayEquals(canonical, CborEncoder.encode(MqttMessage.decode("up/tx", canonical)));
  }

  /** {@code ble}: the box's sealed bad_challenge (counter 1) in opg-v1.json's session, the State write, chunks. */
  static void ble(Map<String, Object> opg, Map<String, Object> b) throws ProtocolError {
    Map<String, Object> s1 = o(opg, "ble");
    Map<String, Object> err = o(b, "error");
    assertEquals(s(err, "inner"), Bytes.hex(BleSession.Inner.reject(s(err, "code"))));
    NodeCertificate nc = OpgV1Checks.nodeCert(opg);
    BleSession.WalletHandshake hs = BleSession.walletHello(h(s1, "walletEphemeralSecret"));
    BleSession.Established box = BleSession.boxRespond(h(o(opg, "keys"), "nodeSigningSecret"), nc, hs.message,
        h(s1, "boxEphemeralSecret"), h(s1, "challenge"));
    BleSession.Established wallet = BleSession.walletFinish(hs, box.message, V.keyring(opg), nc.deviceId, nc.issuedAt);
    assertEquals(s(b, "sealedError"), Bytes.hex(box.cipher.seal(h(err, "inner"))));
    BleSession.Inner in = BleSession.Inner.decode(wallet.cipher.open(h(b, "sealedError")));
    assertEquals(BleSession.INNER_REJECT, in.kind);
    assertEquals(s(err, "code"), in.code);

    Map<String, Object> sw = o(b, "stateWrite");
    assertEquals(s(sw, "mtu185"), "01" + s(s1, "walletHello"));
    assertEquals(s(sw, "mtu185"), Bytes.hex(BleFrame.sessionStartWrite(hs.message, 185)));
    assertEquals(s(sw, "mtu23"), Bytes.hex(BleFrame.sessionStartWrite(hs.message, 23)));
    assertEquals(37, firstMtuCarryingHello(hs.message), "0x01 || WalletHello fits from MTU 37");
    OtherChecks.chunking(chunkVector(23, hs.message, a(sw, "helloChunksMtu23")));

    Map<String, Object> ch = o(b, "chunks");
    assertEquals(s(b, "sealedError"), s(ch, "message"));
    OtherChecks.chunking(chunkVector(23, h(ch, "message"), a(ch, "mtu23")));
    OtherChecks.chunking(chunkVector(185, h(ch, "message"), a(ch, "mtu185")));
  }

  private static int firstMtuCarryingHello(byte[] hello) throws ProtocolError {
    for (int mtu = BleFrame.ATT_MTU_MIN; mtu <= BleFrame.ATT_MTU_MAX; mtu++) {
      if (BleFrame.sessionStartWrite(hello, mtu).length > 1) return mtu;
    }
    return -1;
  }

  private static Map<String, Object> chunkVector(int mtu, byte[] message, List<Object> chunks) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("mtu", (long) mtu);
    v.put("message", Bytes.hex(message));
    v.put("chunks", chunks);
    return v;
  }
}
