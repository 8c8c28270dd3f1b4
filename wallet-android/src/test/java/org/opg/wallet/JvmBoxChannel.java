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
  final Deque<Notification> notifications = new ArrayDeque<>();
  private final BleFrame.Reassembler in = new BleFrame.Reassembler(BleSession.MESSAGE_MAX);
  private BleSession.Established session;
  int stateWrites;
  boolean closed;

  JvmBoxChannel(TestIssuer issuer, int mtu) {
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
      PaymentToken t = PaymentToken.decode(inner.body);
      t.verify(issuer.keyring(), System.currentTimeMillis() / 1000, issuer.nodeCert.merchantId, issuer.nodeCert.deviceId, session.challenge);
      byte[] reply = refuseWith != null ? BleSession.Inner.reject(refuseWith)
          : BleSession.Inner.receipt(Receipt.sign(issuer.nodeSigningSeed, t, System.currentTimeMillis() / 1000).bytes());
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
