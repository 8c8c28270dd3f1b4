package org.opg.wallet;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The core compiles at Java 11 (javac --release 11), but Android at minSdk 26 lacks some Java 9–11 library
 * methods (List.of came in API 30, String.isBlank in 33…) and all of java.net.http, java.awt and javax.swing. With
 * no android.jar here to lint against, this guard refuses those APIs in the library's sources, and any import
 * beyond java.*, javax.crypto/security and Bouncy Castle's lightweight API.
 */
class AndroidApiTest {
  private static final Pattern[] FORBIDDEN = {
    Pattern.compile("\\b(List|Set|Map)\\.(of|copyOf|ofEntries)\\("),
    Pattern.compile("\\.(isBlank|strip|stripLeading|stripTrailing|lines|repeat)\\(\\)"),
    Pattern.compile("\\.transferTo\\(|\\.readAllBytes\\(\\)|\\.readNBytes\\("),
    Pattern.compile("Optional\\.(isEmpty|orElseThrow\\(\\))|\\.toList\\(\\)"),
    Pattern.compile("Files\\.(readString|writeString)\\(|Path\\.of\\("),
    Pattern.compile("\\bvar\\s+\\w+\\s*="),
  };
  private static final Pattern IMPORT = Pattern.compile("^import\\s+(static\\s+)?([\\w.]+)", Pattern.MULTILINE);

  @Test
  void theCoreUsesOnlyWhatAndroid26Has() throws IOException {
    File src = new File(TestFiles.root(), "wallet-android/src/main/java");
    List<String> problems = new ArrayList<>();
    List<File> files;
    try (Stream<java.nio.file.Path> s = Files.walk(src.toPath())) {
      files = s.filter(p -> p.toString().endsWith(".java")).map(java.nio.file.Path::toFile).collect(Collectors.toList());
    }
    assertTrue(files.size() > 10, "sources found in " + src);
    for (File f : files) {
      String text = new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8);
      for (Pattern p : FORBIDDEN) if (p.matcher(text).find()) problems.add(f.getName() + ": " + p);
      java.util.regex.Matcher m = IMPORT.matcher(text);
      while (m.find()) {
        String imp = m.group(2);
        boolean ok = imp.startsWith("java.") && !imp.startsWith("java.net.http") && !imp.startsWith("java.awt")
            || imp.startsWith("javax.crypto") || imp.startsWith("org.opg.wallet")
            || imp.startsWith("org.bouncycastle.crypto.") || imp.startsWith("org.bouncycastle.math.ec.rfc");
        if (!ok) problems.add(f.getName() + ": import " + imp);
      }
    }
    assertTrue(problems.isEmpty(), "APIs Android 26 lacks: " + problems);
  }
}
