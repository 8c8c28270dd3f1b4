package org.opg.wallet;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;

/** Where the repository is (set by scripts/test.sh; the working directory otherwise) and JSON file loading. */
public final class TestFiles {
  private TestFiles() {}

  public static File root() {
    String r = System.getProperty("opg.root");
    if (r != null) return new File(r);
    File cwd = new File("").getAbsoluteFile();
    return new File(cwd, "protocol").isDirectory() ? cwd : cwd.getParentFile();
  }

  public static File vectorsDir() {
    return new File(root(), "protocol/test-vectors");
  }

  public static Map<String, Object> json(File f) throws IOException {
    return Json.parseObject(new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8));
  }
}
