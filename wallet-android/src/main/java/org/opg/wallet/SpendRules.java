package org.opg.wallet;

import java.util.Map;
import org.opg.wallet.protocol.ProtocolError;
import org.opg.wallet.protocol.WalletCertificate;

/** The wallet's own refusals before it signs: amount shape, purse validity, per-payment limit, remaining purse. */
final class SpendRules {
  private SpendRules() {}

  static void check(WalletCertificate cert, Map<String, byte[]> issuerKeys, long remaining, long amount, long nowS)
      throws WalletException {
    if (amount < 1 || amount > 0xffffffffL) throw new WalletException("bad_amount", "amount must be a positive whole number of minor units");
    try {
      cert.verify(issuerKeys, nowS);
    } catch (ProtocolError e) {
      if (e.code().equals("expired")) throw new WalletException("cert_expired", "the offline purse has expired: sync and load a new one", e);
      if (e.code().equals("not_yet_valid")) throw new WalletException("cert_expired", "the purse is not valid yet by this device's clock", e);
      throw new WalletException("bad_certificate", "the purse certificate does not verify", e);
    }
    if (amount > cert.perPaymentLimit) throw new WalletException("over_limit", "amount over the per-payment limit of " + cert.perPaymentLimit);
    if (amount > remaining) throw new WalletException("purse_exhausted", "the purse holds only " + remaining);
  }
}
