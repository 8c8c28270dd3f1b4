package org.opg.wallet.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.File;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.opg.wallet.TestFiles;

/** §8's field table: each message vector, changed in one field, is refused with bad_field (and kept when valid). */
class MqttMessageTest {
  private static Map<String, Object> d;

  @BeforeAll
  static void load() throws Exception {
    d = TestFiles.json(new File(TestFiles.vectorsDir(), "opg-v1-messages.json"));
  }

  /** A fresh decoded copy of a vector's message (from its CBOR, so byte fields are byte[]). */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> msg(String... path) throws ProtocolError {
    Map<String, Object> v = d;
    for (String p : path) v = (Map<String, Object>) v.get(p);
    return (Map<String, Object>) Cbor.decode(V.h(v, "cbor"));
  }

  private static void refused(String kind, Map<String, Object> m, Consumer<Map<String, Object>> change, String what) {
    Map<String, Object> copy = new LinkedHashMap<>(m);
    change.accept(copy);
    ProtocolError e = assertThrows(ProtocolError.class, () -> MqttMessage.check(kind, copy), what);
    assertEquals("bad_field", e.code(), what);
  }

  @Test
  void statusFields() throws ProtocolError {
    Map<String, Object> s = msg("status");
    MqttMessage.check("up/status", s);
    refused("up/status", s, m -> m.put("v", 2L), "v 2");
    refused("up/status", s, m -> m.remove("at"), "no at");
    refused("up/status", s, m -> m.put("at", 1.5), "fractional at");
    refused("up/status", s, m -> m.put("signal", -151L), "signal below -150");
    refused("up/status", s, m -> m.put("clock", "ntp"), "unknown clock");
    refused("up/status", s, m -> m.put("revocations", -2L), "revocations -2");
    refused("up/status", s, m -> m.put("session", "5E55105E55105E55"), "session in upper case");
    refused("up/status", s, m -> m.put("pendingAmount", java.util.Collections.singletonMap("inr", 1L)), "currency case");
    refused("up/status", s, m -> m.put("online", 1L), "online as an integer");
    Map<String, Object> will = msg("lastWill");
    MqttMessage.check("up/status", will);
    refused("up/status", will, m -> m.remove("session"), "a will without its session");
    Map<String, Object> extra = new LinkedHashMap<>(s);
    extra.put("futureField", "ignored");
    MqttMessage.check("up/status", extra);
  }

  @Test
  @SuppressWarnings("unchecked")
  void ackBatchAndCommandFields() throws ProtocolError {
    Map<String, Object> a = msg("ack");
    refused("down/ack", a, m -> m.put("batch", new byte[16]), "batch as 16 bytes");
    refused("down/ack", a, m -> m.put("rejected", Arrays.asList(Map.of("tx", "x", "code", "nope"))), "unknown code");
    refused("down/ack", a, m -> m.put("accepted", Arrays.asList("01890A5D-AC96-774B-BCCE-B302099A8057")), "uuid case");
    Map<String, Object> batch = (Map<String, Object>) Cbor.decode(V.h(V.o(d, "legacy"), "canonical"));
    MqttMessage.check("up/tx", batch);
    refused("up/tx", batch, m -> m.put("records", Arrays.asList()), "no records");
    refused("up/tx", batch, m -> m.put("records", Arrays.asList(Map.of("token", "00", "receipt", new byte[1],
        "channel", "qr", "acceptedAt", 1L))), "token as text");
    Map<String, Object> pay = msg("commands", "invoicePaid");
    refused("down/cmd", pay, m -> m.put("seq", 0L), "seq 0");
    refused("down/cmd", pay, m -> m.put("seq", 9007199254740992L), "seq past 2^53 - 1");
    refused("down/cmd", pay, m -> m.put("amount", 0L), "amount 0");
    refused("down/cmd", pay, m -> m.put("ref", "INV 1001"), "ref with a space");
    refused("down/cmd", pay, m -> m.put("type", "reboot"), "unknown type");
    refused("down/cmd", msg("commands", "config"), m -> m.put("config", "beep"), "config not a map");
    assertEquals("bad_type", assertThrows(ProtocolError.class, () -> MqttMessage.check("up/other", pay)).code());
  }
}
