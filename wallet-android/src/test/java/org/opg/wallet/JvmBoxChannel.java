package org.opg.wallet;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import org.opg.wallet.protocol.BleFrame;
import org.opg.wallet.protocol.BleSession;
import org.opg.wallet.protocol.Bytes;
import org.opg.wallet.protocol.Crypto;
import org.opg.wallet.protocol.PaymentToken;
import org.opg.wallet.protocol.ProtocolError;
import org.opg.wallet.protocol.Receipt;

/**
 * A box's GATT side in the JVM, for unit tests of the wallet's BLE state machine: session start on State (with or
 * without the hello), chunked Client2Server, the box's answers as Server2Client notifications. Its behaviour can
 * be bent: another signing key (a fake box), a fixed refusal, silence.
 */
final class JvmBoxChannel implements GattChannel {
  private final TestIssuer issuer;
  private final int mtu;
  byte[] signingSeed;
  String refuseWith;
  boolean silent;
  /** Drop the box's answer to a token (the link fails after the box stored it). */
  boolean loseReceipt;
  /** Tokens this box holds (hex) → the receipt it stored, shared across connections like the box's journal. */
  final java.util.Map<String, byte[]> held;
  final Deque<Notification> notifications = new ArrayDeque<>();
  private final BleFrame.Reassembler in = new BleFrame.Reassembler(BleSession.MESSAGE_MAX);
  private BleSession.Established session;
  int stateWrites;
  boolean closed;

  JvmBoxChannel(TestIssuer issuer, int mtu) {
    this(issuer, mtu, new java.util.HashMap<>());
  }

  JvmBoxChannel(TestIssuer issuer, int mtu, java.util.Map<String, byte[]> held) {
    this.held = held;
    this.issuer = issuer;
    this.mtu = mtu;
    this.signingSeed = issuer.nodeSigningSeed;
  }

  @Override
  public int connect(String deviceTag, long timeoutMs) throws IOException {
    if (!deviceTag.equals(issuer.nodeCert.deviceId.substring(0, 8))) throw new IOException("no box advertises OPG " + deviceTag);
    return mtu;
  }

  @Override
  public void writeState(byte[] value) throws IOException {
    if (value.length > mtu - 3) throw new IOException("ATT value too long");
    stateWrites++;
    if (value[0] == BleFrame.STATE_START && value.length > 1) onMessage(Bytes.slice(value, 1, value.length));
  }

  @Override
  public void writeChunk(byte[] chunk) throws IOException {
    if (chunk.length > mtu - 3) throw new IOException("ATT value too long");
    try {
      byte[] msg = in.push(chunk);
      if (msg != null) onMessage(msg);
    } catch (ProtocolError e) {
      throw new IOException(e);
    }
  }

  private void onMessage(byte[] msg) throws IOException {
    if (silent) return;
    try {
      if (session == null) {
        session = BleSession.boxRespond(signingSeed, issuer.nodeCert, msg, Crypto.randomBytes(32), Crypto.randomBytes(8));
        answer(session.message);
        return;
      }
      BleSession.Inner inner = BleSession.Inner.decode(session.cipher.open(msg));
      byte[] stored = held.get(Bytes.hex(inner.body));
      byte[] reply;
      if (stored != null) {
        reply = BleSession.Inner.receipt(stored);
      } else if (refuseWith != null) {
        reply = BleSession.Inner.reject(refuseWith);
      } else {
        PaymentToken t = PaymentToken.decode(inner.body);
        try {
          t.verify(issuer.keyring(), System.currentTimeMillis() / 1000, issuer.nodeCert.merchantId, issuer.nodeCert.deviceId, session.challenge);
          byte[] receipt = Receipt.sign(issuer.nodeSigningSeed, t, System.currentTimeMillis() / 1000).bytes();
          held.put(Bytes.hex(inner.body), receipt);
          reply = BleSession.Inner.receipt(receipt);
        } catch (ProtocolError refused) {
          reply = BleSession.Inner.reject(refused.code());
        }
      }
      if (loseReceipt) return;
      answer(session.cipher.seal(reply));
    } catch (ProtocolError e) {
      throw new IOException(e);
    }
  }

  private void answer(byte[] message) throws ProtocolError {
    for (byte[] c : BleFrame.chunk(message, mtu)) notifications.add(new Notification(BleFrame.SERVER2CLIENT, c));
  }

  @Override
  public Notification next(long timeoutMs) {
    return notifications.poll();
  }

  @Override
  public void close() {
    closed = true;
  }
}
