package org.opg.wallet;

import org.opg.wallet.protocol.Envelope;
import org.opg.wallet.protocol.PaymentToken;
import org.opg.wallet.protocol.ProtocolError;

/** A signed payment sealed to its box: show {@link #qrText} as a QR code (alphanumeric mode, ECC M). */
public final class Payment {
  public final String txId;
  public final PaymentToken token;
  public final MerchantTarget target;
  /** {@code OPG1:} + Base45(envelope); a fresh envelope each time, the same token inside. */
  public final String qrText;

  Payment(PaymentToken token, MerchantTarget target) throws ProtocolError {
    this.txId = token.txId;
    this.token = token;
    this.target = target;
    this.qrText = Envelope.qrText(Envelope.seal(target.nodeCert.encryptionKey, token.bytes(), null));
  }
}
