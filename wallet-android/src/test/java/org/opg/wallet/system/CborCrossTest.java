package org.opg.wallet.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.opg.wallet.Json;
import org.opg.wallet.TestFiles;
import org.opg.wallet.protocol.Bytes;
import org.opg.wallet.protocol.Cbor;
import org.opg.wallet.protocol.CborEncoder;

/**
 * The Java deterministic encoder against the TypeScript reference on 3000 seeded random values
 * (wallet-android/scripts/cbor-cases.ts): the same bytes for every one, and decoding the reference's bytes then
 * encoding them again gives them back. Tagged system because it runs Node.
 */
@Tag("system")
class CborCrossTest {
  @Test
  @SuppressWarnings("unchecked")
  void sameBytesAsTheReference() throws Exception {
    Process p = new ProcessBuilder("node", "--conditions=@opg/source", "--import", "tsx", "wallet-android/scripts/cbor-cases.ts", "3000", "12345")
        .directory(TestFiles.root()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    p.getOutputStream().close();
    String out = readAll(p.getInputStream());
    assertEquals(0, p.waitFor(), "cbor-cases.ts exit status");
    List<Object> cases = (List<Object>) Json.parseObject("{\"cases\":" + out + "}").get("cases");
    assertEquals(3000, cases.size());
    int floats = 0;
    for (Object o : cases) {
      Map<String, Object> c = (Map<String, Object>) o;
      String want = (String) c.get("hex");
      assertEquals(want, Bytes.hex(CborEncoder.encode(asJavaScript(c.get("v")))), Json.write(c.get("v")));
      assertEquals(want, Bytes.hex(CborEncoder.encode(Cbor.decode(Bytes.unhex(want)))), "decoded and encoded again");
      if (hasFloat(Cbor.decode(Bytes.unhex(want)))) floats++;
    }
    assertTrue(floats > 300, "the cases exercise floats (" + floats + ")");
  }

  /** JSON numbers as JavaScript held them: a whole number past 2^53 − 1 was the nearest double, printed short. */
  @SuppressWarnings("unchecked")
  private static Object asJavaScript(Object v) {
    if (v instanceof Long && Math.abs((Long) v) > CborEncoder.MAX_SAFE_INTEGER) return ((Long) v).doubleValue();
    if (v instanceof List) {
      List<Object> l = new ArrayList<>();
      for (Object x : (List<Object>) v) l.add(asJavaScript(x));
      return l;
    }
    if (v instanceof Map) {
      Map<String, Object> m = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : ((Map<String, Object>) v).entrySet()) m.put(e.getKey(), asJavaScript(e.getValue()));
      return m;
    }
    return v;
  }

  private static boolean hasFloat(Object v) {
    if (v instanceof Double) return true;
    if (v instanceof List) return ((List<?>) v).stream().anyMatch(CborCrossTest::hasFloat);
    if (v instanceof Map) return ((Map<?, ?>) v).values().stream().anyMatch(CborCrossTest::hasFloat);
    return false;
  }

  private static String readAll(InputStream in) throws java.io.IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    byte[] buf = new byte[65536];
    for (int n; (n = in.read(buf)) > 0; ) b.write(buf, 0, n);
    return new String(b.toByteArray(), StandardCharsets.UTF_8);
  }
}
