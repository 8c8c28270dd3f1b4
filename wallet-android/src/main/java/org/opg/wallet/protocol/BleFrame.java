package org.opg.wallet.protocol;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * BLE GATT layout and chunk framing (SPEC.md §10): a message is cut into chunks of at most MTU−3 bytes whose
 * first byte is 0x01 (more) or 0x00 (last).
 */
public final class BleFrame {
  private BleFrame() {}

  /** The payment service and its characteristics (from protocol/src/ble-frame.ts). */
  public static final UUID SERVICE = UUID.fromString("6f70670a-1c5e-4b2d-9e8a-3c1f0b7d5e40");
  /** Wallet writes 0x01 (start, optionally followed by WalletHello) and 0x02 (end); box notifies 0x02 at its end. */
  public static final UUID STATE = UUID.fromString("6f70670a-1c5e-4b2d-9e8a-3c1f0b7d5e41");
  /** Wallet → box chunks, write without response. */
  public static final UUID CLIENT2SERVER = UUID.fromString("6f70670a-1c5e-4b2d-9e8a-3c1f0b7d5e42");
  /** Box → wallet chunks, notifications. */
  public static final UUID SERVER2CLIENT = UUID.fromString("6f70670a-1c5e-4b2d-9e8a-3c1f0b7d5e43");
  /** Read-only short value naming the box. */
  public static final UUID IDENT = UUID.fromString("6f70670a-1c5e-4b2d-9e8a-3c1f0b7d5e44");

  public static final int STATE_START = 0x01;
  public static final int STATE_END = 0x02;
  public static final int CHUNK_MORE = 0x01;
  public static final int CHUNK_LAST = 0x00;
  public static final int ATT_MTU_MIN = 23;
  public static final int ATT_MTU_MAX = 517;
  /** Default upper bound on a reassembled message. */
  public static final int DEFAULT_MAX_MESSAGE = 4096;

  /** Message bytes per chunk at an ATT MTU: MTU − 3 (ATT header) − 1 (flag). */
  public static int chunkPayloadSize(int mtu) throws ProtocolError {
    if (mtu < ATT_MTU_MIN || mtu > ATT_MTU_MAX) throw new ProtocolError("bad_field", "ATT MTU must be in 23..517");
    return mtu - 4;
  }

  /**
   * The State write that starts a session (SPEC.md §10): {@code 0x01 || walletHello}, unframed, when it fits in one
   * ATT value (MTU − 3 bytes), else the bare {@code 0x01} (the hello then goes in chunks on Client2Server).
   */
  public static byte[] sessionStartWrite(byte[] walletHello, int mtu) throws ProtocolError {
    chunkPayloadSize(mtu);
    if (1 + walletHello.length > mtu - 3) return new byte[] {STATE_START};
    return Bytes.concat(new byte[] {STATE_START}, walletHello);
  }

  /** Cut {@code msg} into chunks; an empty message is one chunk holding only CHUNK_LAST. */
  public static List<byte[]> chunk(byte[] msg, int mtu) throws ProtocolError {
    int room = chunkPayloadSize(mtu);
    List<byte[]> out = new ArrayList<>();
    int off = 0;
    do {
      int end = Math.min(off + room, msg.length);
      byte[] c = new byte[1 + end - off];
      c[0] = (byte) (end == msg.length ? CHUNK_LAST : CHUNK_MORE);
      System.arraycopy(msg, off, c, 1, end - off);
      out.add(c);
      off = end;
    } while (off < msg.length);
    return out;
  }

  /** Joins chunks into messages; on any error the partial message is dropped. */
  public static final class Reassembler {
    private final int max;
    private ByteArrayOutputStream parts = new ByteArrayOutputStream();
    private boolean inProgress;

    public Reassembler(int maxMessageSize) {
      this.max = maxMessageSize;
    }

    /** One chunk in; the whole message when it was the last chunk, else null. truncated / bad_encoding / oversized. */
    public byte[] push(byte[] chunk) throws ProtocolError {
      if (chunk.length == 0) {
        reset();
        throw new ProtocolError("truncated", "empty BLE chunk");
      }
      int flag = chunk[0] & 0xff;
      if (flag != CHUNK_MORE && flag != CHUNK_LAST) {
        reset();
        throw new ProtocolError("bad_encoding", "unknown BLE chunk flag");
      }
      if (parts.size() + chunk.length - 1 > max) {
        reset();
        throw new ProtocolError("oversized", "BLE message exceeds " + max + " bytes");
      }
      parts.write(chunk, 1, chunk.length - 1);
      inProgress = true;
      if (flag == CHUNK_MORE) return null;
      byte[] msg = parts.toByteArray();
      reset();
      return msg;
    }

    public boolean inProgress() {
      return inProgress;
    }

    public void reset() {
      parts = new ByteArrayOutputStream();
      inProgress = false;
    }
  }
}
