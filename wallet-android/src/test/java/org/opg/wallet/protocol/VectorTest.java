package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.opg.wallet.TestFiles;

/**
 * Every file and every section of protocol/test-vectors/, enumerated at run time: each known kind is decoded,
 * verified and re-encoded byte for byte; every sealed MQTT message ({@code {message, sealed}}, in any file) is
 * opened, compared and sealed again. A section this suite has no check for is reported as skipped (aborted) with
 * its name, never silently passed, so vectors added later show up in the counts.
 */
class VectorTest {
  interface Check {
    void run() throws Exception;
  }

  @TestFactory
  List<DynamicTest> everyVector() throws Exception {
    File dir = TestFiles.vectorsDir();
    File[] files = dir.listFiles((d, n) -> n.endsWith(".json"));
    assertTrue(files != null && files.length >= 4, "vector files in " + dir);
    Arrays.sort(files);
    Map<String, Object> opg = TestFiles.json(new File(dir, "opg-v1.json"));
    List<DynamicTest> tests = new ArrayList<>();
    for (File f : files) {
      Map<String, Object> doc = TestFiles.json(f);
      for (Map.Entry<String, Object> e : doc.entrySet()) {
        String name = f.getName() + " " + e.getKey();
        Check c = checkFor(f.getName(), e.getKey(), e.getValue(), doc, opg);
        if (c == null) continue;
        tests.add(DynamicTest.dynamicTest(name, c::run));
        List<String> unchecked = uncheckedFields(f.getName(), e.getKey(), e.getValue());
        if (!unchecked.isEmpty()) {
          tests.add(DynamicTest.dynamicTest(name + " (fields added since)",
              () -> Assumptions.abort("no Java check for " + name + " fields " + unchecked + " yet")));
        }
      }
    }
    return tests;
  }

  /** The fields each opg-v1.json section check reads: anything else in the section is reported, not ignored. */
  private static final Map<String, List<String>> KNOWN = new java.util.HashMap<>();
  /** The same for opg-v1-messages.json (each command of {@code commands} is checked like {@code ack}). */
  private static final Map<String, List<String>> MESSAGES_KNOWN = new java.util.HashMap<>();

  static {
    KNOWN.put("keys", Arrays.asList("description", "deviceSecret", "issuerKeyId", "issuerPublic", "issuerSecret",
        "nodeEncryptionPublic", "nodeEncryptionSecret", "nodeSigningPublic", "nodeSigningSecret", "walletPublic", "walletSecret"));
    KNOWN.put("kdf", Arrays.asList("description", "deviceId", "vault", "state", "mqtt", "sms", "broker"));
    KNOWN.put("certificates", Arrays.asList("node", "wallet"));
    KNOWN.put("token", Arrays.asList("bytes", "chainStart", "envelope", "envelopeEphemeralSecret", "fields", "qrText", "tokenHash"));
    KNOWN.put("receipt", Arrays.asList("acceptedAt", "bytes"));
    KNOWN.put("sticker", Arrays.asList("merchantName", "text"));
    KNOWN.put("mqtt", Arrays.asList("batchCbor", "nonce", "topic"));
    KNOWN.put("sms", Arrays.asList("message", "text"));
    KNOWN.put("ble", Arrays.asList("boxEphemeralSecret", "boxHello", "challenge", "sealedReceipt", "sealedToken", "token",
        "walletEphemeralSecret", "walletHello"));
    KNOWN.put("base45", Arrays.asList("hex", "text"));
    List<String> message = Arrays.asList("topic", "message", "cbor", "nonce", "sealed");
    for (String m : Arrays.asList("ack", "status", "lastWill")) MESSAGES_KNOWN.put(m, message);
    MESSAGES_KNOWN.put("legacy", Arrays.asList("description", "message", "cbor", "canonical"));
    MESSAGES_KNOWN.put("ble", Arrays.asList("error", "sealedError", "stateWrite", "chunks"));
  }


  @SuppressWarnings("unchecked")
  private static List<String> uncheckedFields(String file, String section, Object value) {
    List<String> out = new ArrayList<>();
    if (!(value instanceof Map)) return out;
    Map<String, Object> m = (Map<String, Object>) value;
    if (file.equals("opg-v1-messages.json") && section.equals("commands")) {
      for (Map.Entry<String, Object> c : m.entrySet()) {
        for (String k : ((Map<String, Object>) c.getValue()).keySet()) {
          if (!MESSAGES_KNOWN.get("ack").contains(k)) out.add(c.getKey() + "." + k);
        }
      }
      return out;
    }
    List<String> known = file.equals("opg-v1.json") ? KNOWN.get(section)
        : file.equals("opg-v1-messages.json") ? MESSAGES_KNOWN.get(section) : null;
    if (known == null) return out;
    for (String k : m.keySet()) if (!known.contains(k)) out.add(k);
    return out;
  }

  @SuppressWarnings("unchecked")
  private static Check checkFor(String file, String section, Object value, Map<String, Object> doc, Map<String, Object> opg) {
    if (value instanceof String || value instanceof Number) return null; // descriptions, topics, sources
    if (file.equals("opg-v1.json")) {
      switch (section) {
        case "keys": return () -> OpgV1Checks.keys(doc);
        case "kdf": return () -> OpgV1Checks.kdf(doc);
        case "certificates": return () -> OpgV1Checks.certificates(doc);
        case "token": return () -> OpgV1Checks.token(doc, true);
        case "receipt": return () -> OpgV1Checks.receipt(doc);
        case "sticker": return () -> OpgV1Checks.sticker(doc);
        case "mqtt": return () -> OpgV1Checks.mqtt(doc);
        case "sms": return () -> OpgV1Checks.sms(doc);
        case "ble": return () -> OpgV1Checks.ble(doc);
        case "base45": return () -> OpgV1Checks.base45(doc);
        default: break;
      }
    }
    if (file.equals("opg-v1-messages.json")) {
      switch (section) {
        case "ack":
        case "status":
        case "lastWill": return () -> MessageChecks.message(opg, (Map<String, Object>) value);
        case "commands": return () -> MessageChecks.commands(opg, (Map<String, Object>) value);
        case "legacy": return () -> MessageChecks.legacy((Map<String, Object>) value);
        case "ble": return () -> MessageChecks.ble(opg, (Map<String, Object>) value);
        default: break;
      }
    }
    if (file.equals("rfc.json")) {
      switch (section) {
        case "hpke": return () -> OtherChecks.hpke(doc);
        case "cmac": return () -> OtherChecks.cmac(doc);
        case "base45": return () -> OtherChecks.base45List(doc);
        case "ed25519": return () -> OtherChecks.ed25519List(doc);
        default: break;
      }
    }
    if (file.equals("ed25519-strict.json") && section.equals("cases")) return () -> OtherChecks.strict(doc);
    if (section.equals("sequence") && doc.containsKey("topic")) return () -> OtherChecks.sequence(doc);
    if (value instanceof Map && ((Map<String, Object>) value).containsKey("sealed")
        && ((Map<String, Object>) value).containsKey("message")) {
      String topic = doc.get("topic") instanceof String ? (String) doc.get("topic") : null;
      return () -> OtherChecks.sealedMessage(opg, topic, (Map<String, Object>) value);
    }
    if (value instanceof List) {
      List<Object> list = (List<Object>) value;
      if (!list.isEmpty() && list.stream().allMatch(x -> x instanceof Map && ((Map<String, Object>) x).containsKey("sealed"))) {
        String topic = doc.get("topic") instanceof String ? (String) doc.get("topic") : null;
        return () -> {
          for (Object x : list) OtherChecks.sealedMessage(opg, topic, (Map<String, Object>) x);
        };
      }
    }
    if (value instanceof Map && ((Map<String, Object>) value).containsKey("mtu") && ((Map<String, Object>) value).containsKey("chunks")) {
      return () -> OtherChecks.chunking((Map<String, Object>) value);
    }
    return () -> Assumptions.abort("no Java check for vector section " + section + " of " + file + " yet");
  }
}
