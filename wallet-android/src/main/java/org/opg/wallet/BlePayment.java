package org.opg.wallet;

import java.io.IOException;
import org.opg.wallet.protocol.BleFrame;
import org.opg.wallet.protocol.BleSession;
import org.opg.wallet.protocol.ProtocolError;
import org.opg.wallet.protocol.Receipt;
import org.opg.wallet.protocol.Sticker;

/**
 * Paying over BLE (SPEC.md §10) as an explicit state machine over a {@link GattChannel}:
 * IDLE → CONNECTED → HELLO_SENT → SECURED (the box proved it holds the certified node key of the sticker's
 * device) → TOKEN_SENT → DONE, or FAILED from anywhere. The token is signed only in SECURED, bound to the
 * session challenge. The State write carries the WalletHello when it fits (MTU ≥ 37), else it is chunked.
 */
public final class BlePayment {
  /** The machine's states. */
  public enum State { IDLE, CONNECTED, HELLO_SENT, SECURED, TOKEN_SENT, DONE, FAILED }

  /** What a BLE payment returns. */
  public static final class Result {
    public final Payment payment;
    public final Receipt receipt;

    Result(Payment payment, Receipt receipt) {
      this.payment = payment;
      this.receipt = receipt;
    }
  }

  private final Wallet wallet;
  private final GattChannel channel;
  private final long timeoutMs;
  private State state = State.IDLE;
  private int mtu;
  private final BleFrame.Reassembler reassembler = new BleFrame.Reassembler(BleSession.MESSAGE_MAX);

  public BlePayment(Wallet wallet, GattChannel channel, long timeoutMs) {
    this.wallet = wallet;
    this.channel = channel;
    this.timeoutMs = timeoutMs;
  }

  public State state() {
    return state;
  }

  /**
   * Pay {@code amount} to the box named by {@code target}. WalletException: forged_sticker (the box cannot prove
   * it is that box), ble (refused: remoteCode holds the box's code; or the exchange broke), and the wallet's own
   * refusals. The channel is always closed. A token that was sent stays spent even without a receipt.
   */
  public Result pay(MerchantTarget target, long amount) throws WalletException {
    move(State.IDLE, State.IDLE);
    try {
      BleSession.Established s = open(target.deviceId);
      Payment payment = wallet.pay(target, amount, s.challenge);
      BleSession.Inner reply = present(s, payment.token.bytes());
      if (reply.kind == BleSession.INNER_REJECT) {
        wallet.markRefused(payment.txId, reply.code);
        throw new WalletException("ble", "the box refused the payment: " + reply.code, null, reply.code, 0);
      }
      if (reply.kind != BleSession.INNER_RECEIPT) throw new WalletException("ble", "the box answered with something other than a receipt");
      Receipt r = wallet.acceptReceipt(payment, reply.body);
      state = State.DONE;
      return new Result(payment, r);
    } catch (WalletException e) {
      state = State.FAILED;
      throw e;
    } catch (ProtocolError | IOException | RuntimeException e) {
      state = State.FAILED;
      throw new WalletException("ble", "the BLE exchange failed", e);
    } finally {
      end();
    }
  }

  /**
   * Finish a BLE payment whose receipt never came back (SPEC §10 Retries): a new session presents the same logged
   * token. The box that holds it answers with its stored receipt (verified, kept in the log: returns it); a box
   * that does not refuses it ({@code bad_challenge}) and the wallet marks it refused (never uploaded; returns
   * null, the customer may pay afresh). {@code replay} means the box holds it but sent no receipt yet: WalletException
   * ble, try again. The box records the payment at most once either way.
   */
  public Receipt retry(String txId) throws WalletException {
    Payment payment = wallet.payment(txId);
    move(State.IDLE, State.IDLE);
    try {
      BleSession.Established s = open(payment.target.deviceId);
      BleSession.Inner reply = present(s, payment.token.bytes());
      if (reply.kind == BleSession.INNER_REJECT) {
        if (reply.code.equals("replay")) {
          throw new WalletException("ble", "the box holds this payment but sent no receipt; try again", null, reply.code, 0);
        }
        wallet.markRefused(txId, reply.code);
        state = State.DONE;
        return null;
      }
      if (reply.kind != BleSession.INNER_RECEIPT) throw new WalletException("ble", "the box answered with something other than a receipt");
      Receipt r = wallet.acceptReceipt(payment, reply.body);
      state = State.DONE;
      return r;
    } catch (WalletException e) {
      state = State.FAILED;
      throw e;
    } catch (ProtocolError | IOException | RuntimeException e) {
      state = State.FAILED;
      throw new WalletException("ble", "the BLE exchange failed", e);
    } finally {
      end();
    }
  }

  private void end() {
    try {
      if (mtu > 0) channel.writeState(new byte[] {BleFrame.STATE_END});
    } catch (IOException ignored) {
      // The link may already be gone; closing below releases it either way.
    }
    channel.close();
  }

  private BleSession.Established open(String deviceId) throws IOException, ProtocolError, WalletException {
    mtu = channel.connect(Sticker.deviceTag(deviceId), timeoutMs);
    move(State.IDLE, State.CONNECTED);
    BleSession.WalletHandshake hs = BleSession.walletHello(null);
    byte[] start = BleFrame.sessionStartWrite(hs.message, mtu);
    channel.writeState(start);
    if (start.length == 1) send(hs.message);
    move(State.CONNECTED, State.HELLO_SENT);
    byte[] boxHello = receive();
    try {
      BleSession.Established s = BleSession.walletFinish(hs, boxHello, wallet.issuerKeys(), deviceId, Math.floorDiv(wallet.now(), 1000L));
      move(State.HELLO_SENT, State.SECURED);
      return s;
    } catch (ProtocolError e) {
      String c = e.code();
      if (c.equals("bad_signature") || c.equals("unknown_key") || c.equals("wrong_device")) {
        throw new WalletException("forged_sticker", "the box could not prove it is the box on the sticker", e);
      }
      throw e;
    }
  }

  private BleSession.Inner present(BleSession.Established s, byte[] token) throws IOException, ProtocolError, WalletException {
    send(s.cipher.seal(BleSession.Inner.token(token)));
    move(State.SECURED, State.TOKEN_SENT);
    return BleSession.Inner.decode(s.cipher.open(receive()));
  }

  private void send(byte[] message) throws IOException, ProtocolError {
    for (byte[] chunk : BleFrame.chunk(message, mtu)) channel.writeChunk(chunk);
  }

  /** The next whole message from Server2Client; a State 0x02 means the box ended the session. */
  private byte[] receive() throws IOException, ProtocolError, WalletException {
    while (true) {
      GattChannel.Notification n = channel.next(timeoutMs);
      if (n == null) throw new ProtocolError("timeout", "no answer from the box in " + timeoutMs + " ms");
      if (BleFrame.STATE.equals(n.characteristic)) {
        if (n.value.length == 1 && n.value[0] == BleFrame.STATE_END) throw new WalletException("ble", "the box ended the session");
        continue;
      }
      if (!BleFrame.SERVER2CLIENT.equals(n.characteristic)) continue;
      byte[] msg = reassembler.push(n.value);
      if (msg != null) return msg;
    }
  }

  private void move(State from, State to) throws WalletException {
    if (state != from) {
      state = State.FAILED;
      throw new WalletException("ble", "BLE payment in state " + state + " cannot go to " + to,
          new ProtocolError("bad_state", "expected " + from));
    }
    state = to;
  }
}
