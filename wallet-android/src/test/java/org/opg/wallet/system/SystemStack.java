package org.opg.wallet.system;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.opg.wallet.Json;
import org.opg.wallet.TestFiles;

/**
 * The real system for a test: runs wallet-android/scripts/system-stack.ts under Node (the e2e package's bridge
 * and box on free ports) and talks to it in JSON lines. {@link #ready} holds the URLs and keys it printed.
 */
public final class SystemStack implements AutoCloseable {
  private final Process process;
  private final BufferedReader in;
  private final Writer out;
  private int nextId = 1;
  public final Map<String, Object> ready;

  public SystemStack() throws IOException {
    File root = TestFiles.root();
    ProcessBuilder pb = new ProcessBuilder("node", "--conditions=@opg/source", "--import", "tsx", "wallet-android/scripts/system-stack.ts")
        .directory(root)
        .redirectError(ProcessBuilder.Redirect.INHERIT);
    process = pb.start();
    in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    out = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Map<String, Object> first = null;
    for (String line; (line = in.readLine()) != null; ) {
      if (!line.startsWith("{")) continue;
      first = Json.parseObject(line);
      if (first.containsKey("ready")) break;
    }
    if (first == null) throw new IOException("the system stack exited before it was ready");
    ready = Json.obj(first, "ready");
  }

  public String str(String key) {
    return Json.str(ready, key);
  }

  /** One request; the result object (or null); IOException with the stack's message when it failed. */
  public synchronized Object call(String op, Object... kv) throws IOException {
    Map<String, Object> req = new LinkedHashMap<>();
    int id = nextId++;
    req.put("id", (long) id);
    req.put("op", op);
    for (int i = 0; i + 1 < kv.length; i += 2) req.put((String) kv[i], kv[i + 1]);
    out.write(Json.write(req) + "\n");
    out.flush();
    for (String line; (line = in.readLine()) != null; ) {
      if (!line.startsWith("{")) continue;
      Map<String, Object> res = Json.parseObject(line);
      if (!Long.valueOf(id).equals(res.get("id"))) continue;
      if (Boolean.TRUE.equals(res.get("ok"))) return res.get("result");
      throw new IOException(op + ": " + res.get("error"));
    }
    throw new IOException("the system stack exited during " + op);
  }

  @SuppressWarnings("unchecked")
  public Map<String, Object> callMap(String op, Object... kv) throws IOException {
    return (Map<String, Object>) call(op, kv);
  }

  @Override
  public void close() throws IOException {
    out.close();
    try {
      if (!process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) process.destroy();
    } catch (InterruptedException e) {
      process.destroy();
      Thread.currentThread().interrupt();
    }
  }
}
