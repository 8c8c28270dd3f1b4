package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.opg.wallet.protocol.V.h;
import static org.opg.wallet.protocol.V.o;
import static org.opg.wallet.protocol.V.s;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.opg.wallet.TestFiles;

/**
 * Property tests on every decoder (seeded, so a failure reproduces): random bytes of every length up to twice the
 * valid size, and every single-bit flip of a valid message, give a result or a ProtocolError with a stable code —
 * never another exception. For signed and sealed structures, no single-bit flip still verifies or opens.
 */
class DecoderPropertyTest {
  private static final long SEED = 0x6f7067L;
  private static final int RANDOM_CASES = 400;
  private static Map<String, Object> d;

  interface Decoder {
    void run(byte[] input) throws ProtocolError;
  }

  @BeforeAll
  static void load() throws Exception {
    d = TestFiles.json(new File(TestFiles.vectorsDir(), "opg-v1.json"));
  }

  private static byte[] k(String name) {
    return h(o(d, "keys"), name);
  }

  /** Decode, then (for signed/sealed things) verify: a flip must fail somewhere with a ProtocolError. */
  private static List<Object[]> decoders() throws ProtocolError {
    List<Object[]> list = new ArrayList<>();
    Map<String, byte[]> keyring = V.keyring(d);
    NodeCertificate nc = OpgV1Checks.nodeCert(d);
    PaymentToken tok = OpgV1Checks.token(d);
    list.add(new Object[] {"wallet certificate", h(o(o(d, "certificates"), "wallet"), "bytes"),
        (Decoder) b -> WalletCertificate.decode(b).verify(keyring, null)});
    list.add(new Object[] {"node certificate", nc.bytes(), (Decoder) b -> NodeCertificate.decode(b).verify(keyring, null)});
    list.add(new Object[] {"token", tok.bytes(), (Decoder) b -> PaymentToken.decode(b).verify(keyring, null, null, null, null)});
    list.add(new Object[] {"receipt", h(o(d, "receipt"), "bytes"), (Decoder) b -> Receipt.decode(b).verify(nc.signingKey, tok)});
    list.add(new Object[] {"envelope", h(o(d, "token"), "envelope"),
        (Decoder) b -> Envelope.open(k("nodeEncryptionSecret"), k("nodeEncryptionPublic"), b)});
    list.add(new Object[] {"QR text", s(o(d, "token"), "qrText").getBytes(StandardCharsets.ISO_8859_1),
        (Decoder) b -> Envelope.fromQrText(new String(b, StandardCharsets.ISO_8859_1))});
    list.add(new Object[] {"sticker", s(o(d, "sticker"), "text").getBytes(StandardCharsets.ISO_8859_1),
        (Decoder) b -> Sticker.decode(new String(b, StandardCharsets.ISO_8859_1)).nodeCert.verify(keyring, null)});
    list.add(new Object[] {"base45", s(o(d, "base45"), "text").getBytes(StandardCharsets.ISO_8859_1),
        (Decoder) b -> Base45.decode(new String(b, StandardCharsets.ISO_8859_1))});
    Map<String, Object> m = o(d, "mqtt");
    byte[] mqttKey = OpgV1Checks.mqttKey(d);
    list.add(new Object[] {"sealed MQTT", h(m, "batchCbor"), (Decoder) b -> Cbor.decode(MqttSeal.open(mqttKey, s(m, "topic"), b))});
    list.add(new Object[] {"CBOR", MqttSeal.open(mqttKey, s(m, "topic"), h(m, "batchCbor")), (Decoder) Cbor::decode});
    list.add(new Object[] {"MQTT TxBatch", MqttSeal.open(mqttKey, s(m, "topic"), h(m, "batchCbor")),
        (Decoder) b -> MqttMessage.decode("up/tx", b)});
    Map<String, Object> ble = o(d, "ble");
    list.add(new Object[] {"WalletHello", h(ble, "walletHello"),
        (Decoder) b -> BleSession.boxRespond(k("nodeSigningSecret"), nc, b, h(ble, "boxEphemeralSecret"), h(ble, "challenge"))});
    list.add(new Object[] {"BoxHello", h(ble, "boxHello"), (Decoder) b -> BleSession.walletFinish(
        BleSession.walletHello(h(ble, "walletEphemeralSecret")), b, keyring, nc.deviceId, null)});
    list.add(new Object[] {"sealed BLE message", h(ble, "sealedReceipt"), (Decoder) b -> {
      BleSession.Established w = BleSession.walletFinish(BleSession.walletHello(h(ble, "walletEphemeralSecret")), h(ble, "boxHello"), keyring, null, null);
      BleSession.Inner.decode(w.cipher.open(b));
    }});
    list.add(new Object[] {"BLE inner", BleSession.Inner.reject("replay"), (Decoder) BleSession.Inner::decode});
    list.add(new Object[] {"BLE chunks", BleFrame.chunk(h(ble, "boxHello"), 23).get(0), (Decoder) b -> {
      BleFrame.Reassembler r = new BleFrame.Reassembler(64);
      for (int i = 0; i < 4; i++) r.push(b);
    }});
    list.add(new Object[] {"hex", "0a0b0c0d".getBytes(StandardCharsets.ISO_8859_1),
        (Decoder) b -> Bytes.fromHex(new String(b, StandardCharsets.ISO_8859_1))});
    return list;
  }

  private static void expectTyped(String what, Decoder dec, byte[] input, boolean mustFail) {
    try {
      dec.run(input);
    } catch (ProtocolError e) {
      assertTrue(ProtocolError.CODES.contains(e.code()), what + ": unknown code " + e.code());
      return;
    } catch (Throwable t) {
      throw new AssertionError(what + ": untyped " + t + " for input " + Bytes.hex(input), t);
    }
    if (mustFail) fail(what + ": a changed message still verified: " + Bytes.hex(input));
  }

  @TestFactory
  List<DynamicTest> randomInputGivesTypedErrors() throws ProtocolError {
    List<DynamicTest> out = new ArrayList<>();
    for (Object[] c : decoders()) {
      String what = (String) c[0];
      byte[] valid = (byte[]) c[1];
      Decoder dec = (Decoder) c[2];
      out.add(DynamicTest.dynamicTest(what + ": random input", () -> {
        Random rnd = new Random(SEED ^ what.hashCode());
        for (int i = 0; i < RANDOM_CASES; i++) {
          byte[] b = new byte[rnd.nextInt(valid.length * 2 + 2)];
          rnd.nextBytes(b);
          // Half the cases keep a valid prefix so decoding gets past the first checks.
          if (i % 2 == 0) System.arraycopy(valid, 0, b, 0, Math.min(valid.length, b.length));
          expectTyped(what, dec, b, false);
        }
      }));
    }
    return out;
  }

  @TestFactory
  List<DynamicTest> everyBitFlipIsRefused() throws ProtocolError {
    List<DynamicTest> out = new ArrayList<>();
    for (Object[] c : decoders()) {
      String what = (String) c[0];
      byte[] valid = (byte[]) c[1];
      Decoder dec = (Decoder) c[2];
      // Signed or sealed structures must refuse every flip; plain encodings (and the sticker, whose display
      // name is unsigned by design, SPEC.md §7) only need typed errors.
      boolean authenticated = !what.equals("CBOR") && !what.equals("MQTT TxBatch") && !what.equals("sticker") && !what.equals("base45") && !what.equals("hex")
          && !what.equals("BLE inner") && !what.equals("BLE chunks") && !what.equals("WalletHello") && !what.equals("QR text");
      out.add(DynamicTest.dynamicTest(what + ": every single-bit flip", () -> {
        assertNotNull(valid);
        for (int bit = 0; bit < valid.length * 8; bit++) {
          byte[] b = valid.clone();
          b[bit / 8] ^= (byte) (1 << (bit % 8));
          expectTyped(what + " bit " + bit, dec, b, authenticated);
        }
      }));
    }
    return out;
  }
}
