package org.opg.wallet;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import org.opg.wallet.protocol.Bytes;
import org.opg.wallet.protocol.Crypto;
import org.opg.wallet.protocol.ProtocolError;

/**
 * {@link SecureStore} over files (the JVM adapter; on Android the same class works with a key unwrapped from the
 * Keystore). Each key is one file {@code <hex(key)>.opg} holding {@code 0x01 || nonce(12) || AES-GCM(value)},
 * the key name as associated data, so a file renamed to another key fails. Writes go to a temporary file that is
 * fsynced and atomically renamed over the old one, then the directory is fsynced where the platform allows.
 */
public final class FileSecureStore implements SecureStore {
  private final File dir;
  private final byte[] key;

  /** {@code key}: 16 random bytes kept outside this directory (Android: from the Keystore). */
  public FileSecureStore(File dir, byte[] key) throws IOException {
    if (key.length != 16) throw new IllegalArgumentException("FileSecureStore key must be 16 bytes");
    if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot create " + dir);
    this.dir = dir;
    this.key = key.clone();
  }

  private File file(String k) {
    return new File(dir, Bytes.hex(k.getBytes(StandardCharsets.UTF_8)) + ".opg");
  }

  private static byte[] aad(String k) {
    return Bytes.concat(Bytes.utf8("opg/v1 wallet store"), new byte[] {0}, Bytes.utf8(k));
  }

  @Override
  public byte[] get(String k) throws IOException {
    File f = file(k);
    if (!f.exists()) return null;
    byte[] data = Files.readAllBytes(f.toPath());
    if (data.length < 1 + 12 + 16 || data[0] != 1) throw new IOException("store file " + f + " is damaged");
    try {
      return Crypto.aesGcmOpen(key, Bytes.slice(data, 1, 13), Bytes.slice(data, 13, data.length), aad(k));
    } catch (ProtocolError e) {
      throw new IOException("store file " + f + " does not open with this key (wrong key or tampered)", e);
    }
  }

  @Override
  public void put(String k, byte[] value) throws IOException {
    byte[] nonce = Crypto.randomBytes(12);
    byte[] data = Bytes.concat(new byte[] {1}, nonce, Crypto.aesGcmSeal(key, nonce, value, aad(k)));
    File target = file(k);
    File tmp = new File(dir, target.getName() + ".tmp");
    try (FileOutputStream out = new FileOutputStream(tmp)) {
      out.write(data);
      out.getFD().sync();
    }
    try {
      Files.move(tmp.toPath(), target.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("the file system cannot replace files atomically", e);
    }
    syncDir();
  }

  @Override
  public void delete(String k) throws IOException {
    Files.deleteIfExists(file(k).toPath());
    syncDir();
  }

  /** fsync the directory so the rename itself is durable (not possible on every platform: best effort). */
  private void syncDir() {
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.toPath(), java.nio.file.StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | RuntimeException e) {
      // Directories cannot be opened for sync on some systems; the rename is still atomic.
    }
  }
}
