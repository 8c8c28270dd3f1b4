package org.opg.wallet.system;

import java.io.IOException;
import java.util.Map;
import org.opg.wallet.GattChannel;
import org.opg.wallet.Json;
import org.opg.wallet.protocol.BleFrame;
import org.opg.wallet.protocol.Bytes;

/**
 * {@link GattChannel} over the system stack's pipe to the TypeScript box's GATT server (the node runtime's
 * BoxGattServer behind its simulated binding): State and Client2Server writes go to the box's characteristic
 * handlers byte for byte, notifications come back in order. Stands in for android.bluetooth, nothing above it.
 */
public final class PipeGattChannel implements GattChannel {
  private final SystemStack stack;
  private final int mtu;
  private boolean open;

  public PipeGattChannel(SystemStack stack, int mtu) {
    this.stack = stack;
    this.mtu = mtu;
  }

  @Override
  public int connect(String deviceTag, long timeoutMs) throws IOException {
    open = true;
    return (int) Json.num(stack.callMap("ble.connect", "mtu", (long) mtu), "mtu");
  }

  @Override
  public void writeState(byte[] value) throws IOException {
    check(stack.callMap("ble.writeState", "hex", Bytes.hex(value)));
  }

  @Override
  public void writeChunk(byte[] chunk) throws IOException {
    if (chunk.length > mtu - 3) throw new IOException("chunk longer than the ATT value");
    check(stack.callMap("ble.write", "hex", Bytes.hex(chunk)));
  }

  private static void check(Map<String, Object> r) throws IOException {
    long att = Json.num(r, "att");
    if (att != 0) throw new IOException("ATT error 0x" + Long.toHexString(att));
  }

  @Override
  public Notification next(long timeoutMs) throws IOException {
    Map<String, Object> n = stack.callMap("ble.next", "timeoutMs", timeoutMs);
    if (n == null) return null;
    return new Notification("state".equals(n.get("char")) ? BleFrame.STATE : BleFrame.SERVER2CLIENT, Bytes.unhex(Json.str(n, "hex")));
  }

  @Override
  public void close() {
    if (!open) return;
    open = false;
    try {
      stack.call("ble.close");
    } catch (IOException ignored) {
      // The stack is gone: nothing left to release.
    }
  }
}
