package org.opg.wallet;

import java.io.IOException;
import java.util.UUID;

/**
 * The BLE link to one box, at the GATT level (SPEC.md §10), as the wallet's BLE state machine needs it. The
 * Android adapter implements it over {@code BluetoothGatt}; the tests over a pipe to the TypeScript box's GATT
 * server. Contract (checked by the payment tests):
 *
 * <ul>
 *   <li>{@link #connect} finds the box advertising {@code "OPG " + deviceTag}, connects, requests a large MTU,
 *       discovers the service {@code BleFrame.SERVICE}, enables notifications on Server2Client and State, and
 *       returns the negotiated ATT MTU (23..517). IOException when the box is not found or the link fails.
 *   <li>{@link #writeState} writes State <em>with response</em>; {@link #writeChunk} writes one chunk (≤ MTU−3
 *       bytes) to Client2Server, in call order, without response.
 *   <li>{@link #next} returns the next notification (Server2Client chunk or State value) in arrival order, or
 *       null when none arrived within {@code timeoutMs}; IOException once the link is down.
 *   <li>{@link #close} disconnects and releases the link; safe to call twice.
 * </ul>
 */
public interface GattChannel extends AutoCloseable {
  /** A notification: which characteristic ({@code BleFrame.SERVER2CLIENT} or {@code BleFrame.STATE}) and its value. */
  final class Notification {
    public final UUID characteristic;
    public final byte[] value;

    public Notification(UUID characteristic, byte[] value) {
      this.characteristic = characteristic;
      this.value = value;
    }
  }

  int connect(String deviceTag, long timeoutMs) throws IOException;

  void writeState(byte[] value) throws IOException;

  void writeChunk(byte[] chunk) throws IOException;

  Notification next(long timeoutMs) throws IOException;

  @Override
  void close();
}
