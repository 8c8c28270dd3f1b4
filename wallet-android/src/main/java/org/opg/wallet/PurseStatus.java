package org.opg.wallet;

/** The offline purse as an app shows it; amounts in minor units of {@link #currency}. */
public final class PurseStatus {
  public final String walletId;
  public final String currency;
  public final long purseAmount;
  public final long remaining;
  public final long perPaymentLimit;
  public final long nextCounter;
  public final long issuedAt;
  public final long expiresAt;
  public final boolean expired;

  PurseStatus(String walletId, String currency, long purseAmount, long remaining, long perPaymentLimit, long nextCounter,
      long issuedAt, long expiresAt, boolean expired) {
    this.walletId = walletId;
    this.currency = currency;
    this.purseAmount = purseAmount;
    this.remaining = remaining;
    this.perPaymentLimit = perPaymentLimit;
    this.nextCounter = nextCounter;
    this.issuedAt = issuedAt;
    this.expiresAt = expiresAt;
    this.expired = expired;
  }

  public long spent() {
    return purseAmount - remaining;
  }
}
