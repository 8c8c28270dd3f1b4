package org.opg.wallet.protocol;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The box ↔ bridge messages of SPEC.md §8 (TxBatch on {@code up/tx}, Status on {@code up/status}, Ack on
 * {@code down/ack}, Command on {@code down/cmd}) as decoded CBOR maps, checked against §8's field table. A wallet
 * never speaks MQTT; this lets the SDK check every message vector and read box messages in tools. Fields a
 * receiver does not know are left in the map and ignored, as the reference does.
 */
public final class MqttMessage {
  private MqttMessage() {}

  public static final List<String> KINDS = Arrays.asList("up/tx", "up/status", "down/ack", "down/cmd");
  public static final int BATCH_MAX_RECORDS = 500;
  private static final Pattern UUID = Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  private static final Pattern CURRENCY = Pattern.compile("^[A-Z]{3}$");
  private static final Pattern REF = Pattern.compile("^[A-Za-z0-9-]{1,32}$");

  /** Decode (liberally, §8) and check a message received on a topic of {@code kind}. */
  public static Map<String, Object> decode(String kind, byte[] cbor) throws ProtocolError {
    if (cbor.length > MqttSeal.MAX) throw new ProtocolError("oversized", "message too large");
    return check(kind, Cbor.decode(cbor));
  }

  /** Check a message for a topic of {@code kind} and encode it deterministically (§8). */
  public static byte[] encode(String kind, Map<String, Object> message) throws ProtocolError {
    return CborEncoder.encode(check(kind, message));
  }

  /** The message as a map when it is a valid {@code kind} message; bad_field (bad_type for an unknown kind) else. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> check(String kind, Object message) throws ProtocolError {
    ProtocolError.check(KINDS.contains(kind), "bad_type", "unknown topic kind");
    ProtocolError.check(message instanceof Map, "bad_field", "a message is a CBOR map");
    Map<String, Object> m = (Map<String, Object>) message;
    ProtocolError.check(uint(m, "v") == 1, "bad_field", "v must be 1");
    switch (kind) {
      case "up/tx": txBatch(m); break;
      case "up/status": status(m); break;
      case "down/ack": ack(m); break;
      default: command(m); break;
    }
    return m;
  }

  private static void txBatch(Map<String, Object> m) throws ProtocolError {
    text(m, "batch", UUID);
    List<Object> records = list(m, "records", 1, BATCH_MAX_RECORDS);
    for (Object o : records) {
      Map<String, Object> r = map(o, "records");
      bytes(r, "token", 265);
      bytes(r, "receipt", 110);
      oneOf(r, "channel", "qr", "ble");
      uint(r, "acceptedAt");
    }
  }

  private static void ack(Map<String, Object> m) throws ProtocolError {
    text(m, "batch", UUID);
    for (Object o : list(m, "accepted", 0, BATCH_MAX_RECORDS)) {
      ProtocolError.check(o instanceof String && UUID.matcher((String) o).matches(), "bad_field", "accepted: uuid text");
    }
    for (Object o : list(m, "rejected", 0, BATCH_MAX_RECORDS)) {
      Map<String, Object> r = map(o, "rejected");
      ProtocolError.check(text(r, "tx", null).length() <= 64, "bad_field", "rejected.tx too long");
      ProtocolError.check(ProtocolError.CODES.contains(text(r, "code", null)), "bad_field", "rejected.code unknown");
    }
  }

  private static final Pattern SESSION = Pattern.compile("^[0-9a-f]{16}$");

  private static void status(Map<String, Object> m) throws ProtocolError {
    ProtocolError.check(m.get("online") instanceof Boolean, "bad_field", "online: bool");
    if (!(Boolean) m.get("online")) {
      text(m, "session", SESSION);
      return;
    }
    if (m.containsKey("session")) text(m, "session", SESSION);
    uint(m, "at");
    uint(m, "pending");
    uint(m, "storageBytes");
    for (Map.Entry<String, Object> e : map(m.get("pendingAmount"), "pendingAmount").entrySet()) {
      ProtocolError.check(CURRENCY.matcher(e.getKey()).matches(), "bad_field", "pendingAmount: currency code");
      ProtocolError.check(Cbor.asLong(e.getValue()) >= 0, "bad_field", "pendingAmount: uint");
    }
    ProtocolError.check(text(m, "version", null).length() <= 32, "bad_field", "version too long");
    if (m.containsKey("signal")) range(m, "signal", -150, 0);
    if (m.containsKey("clock")) oneOf(m, "clock", "trusted", "carried", "unsynced");
    if (m.containsKey("revocations")) range(m, "revocations", -1, CborEncoder.MAX_SAFE_INTEGER);
    if (m.containsKey("storage")) {
      Map<String, Object> s = map(m.get("storage"), "storage");
      uint(s, "quarantined");
      for (String k : Arrays.asList("lostRecords", "powerFailAt")) if (s.containsKey(k)) uint(s, k);
      for (String k : Arrays.asList("stateRebuilt", "freeLow", "powerFlushFailed")) {
        ProtocolError.check(!s.containsKey(k) || s.get(k) instanceof Boolean, "bad_field", "storage." + k + ": bool");
      }
    }
  }

  private static void command(Map<String, Object> m) throws ProtocolError {
    text(m, "id", UUID);
    range(m, "seq", 1, CborEncoder.MAX_SAFE_INTEGER);
    String type = text(m, "type", null);
    switch (type) {
      case "time":
        uint(m, "now");
        break;
      case "revocations":
        uint(m, "version");
        for (Object w : list(m, "wallets", 0, 100_000)) {
          ProtocolError.check(w instanceof String && Ids.isId8((String) w), "bad_field", "wallets: id8 text");
        }
        break;
      case "config":
        map(m.get("config"), "config");
        break;
      case "invoice_paid":
        text(m, "ref", REF);
        range(m, "amount", 1, CborEncoder.MAX_SAFE_INTEGER);
        text(m, "currency", CURRENCY);
        uint(m, "counter");
        break;
      case "sync_now":
        break;
      default:
        throw new ProtocolError("bad_field", "unknown command type");
    }
  }

  /** An integer (a CBOR integer, or a float holding one, as older boxes sent times) in 0..2^53 − 1. */
  private static long uint(Map<String, Object> m, String k) throws ProtocolError {
    return range(m, k, 0, CborEncoder.MAX_SAFE_INTEGER);
  }

  private static long range(Map<String, Object> m, String k, long min, long max) throws ProtocolError {
    ProtocolError.check(m.get(k) instanceof Number, "bad_field", k + ": expected an integer");
    long v = Cbor.asLong(m.get(k));
    ProtocolError.check(v >= min && v <= max, "bad_field", k + " out of range");
    return v;
  }

  private static String text(Map<String, Object> m, String k, Pattern p) throws ProtocolError {
    Object v = m.get(k);
    ProtocolError.check(v instanceof String && (p == null || p.matcher((String) v).matches()), "bad_field", k + ": bad text");
    return (String) v;
  }

  private static void oneOf(Map<String, Object> m, String k, String... allowed) throws ProtocolError {
    ProtocolError.check(Arrays.asList(allowed).contains(m.get(k)), "bad_field", k + ": not one of " + Arrays.toString(allowed));
  }

  private static void bytes(Map<String, Object> m, String k, int max) throws ProtocolError {
    ProtocolError.check(m.get(k) instanceof byte[] && ((byte[]) m.get(k)).length <= max, "bad_field", k + ": bytes of at most " + max);
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Map<String, Object> m, String k, int min, int max) throws ProtocolError {
    Object v = m.get(k);
    ProtocolError.check(v instanceof List && ((List<Object>) v).size() >= min && ((List<Object>) v).size() <= max,
        "bad_field", k + ": array of " + min + ".." + max);
    return (List<Object>) v;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object v, String k) throws ProtocolError {
    ProtocolError.check(v instanceof Map, "bad_field", k + ": expected a map");
    for (Object key : ((Map<Object, Object>) v).keySet()) ProtocolError.check(key instanceof String, "bad_field", k + ": text keys");
    return (Map<String, Object>) v;
  }
}
