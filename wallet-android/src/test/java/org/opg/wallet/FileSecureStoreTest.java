package org.opg.wallet;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opg.wallet.protocol.Crypto;

/** The JVM file adapter against the store contract, plus its own failure modes. */
class FileSecureStoreTest extends SecureStoreContract {
  @TempDir File dir;
  private final byte[] key = Crypto.randomBytes(16);

  @Override
  protected SecureStore open() throws IOException {
    return new FileSecureStore(dir, key);
  }

  @Override
  protected SecureStore reopen() throws IOException {
    return new FileSecureStore(dir, key);
  }

  @Override
  protected boolean tamper(String k) throws IOException {
    File[] files = dir.listFiles((d, n) -> n.endsWith(".opg"));
    for (File f : files) {
      try (RandomAccessFile raf = new RandomAccessFile(f, "rw")) {
        raf.seek(raf.length() - 3);
        int b = raf.read();
        raf.seek(raf.length() - 3);
        raf.write(b ^ 0x20);
      }
    }
    return files.length > 0;
  }

  @Test
  void anotherKeyCannotRead() throws IOException {
    open().put("wallet", new byte[] {1, 2, 3});
    assertThrows(IOException.class, () -> new FileSecureStore(dir, Crypto.randomBytes(16)).get("wallet"));
  }

  @Test
  void aFileMovedToAnotherKeyDoesNotOpen() throws IOException {
    SecureStore s = open();
    s.put("a", new byte[] {1});
    s.put("b", new byte[] {2});
    File fa = new File(dir, "61.opg");
    File fb = new File(dir, "62.opg");
    Files.copy(fa.toPath(), fb.toPath(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThrows(IOException.class, () -> s.get("b"));
  }
}
