package org.opg.wallet;

/**
 * A refusal by the wallet SDK with a stable {@link #code()} an app switches on (the same codes as the TypeScript
 * wallet: no_wallet, wallet_exists, no_purse, purse_active, purse_exhausted, cert_expired, over_limit, bad_amount,
 * bad_certificate, bad_sticker, forged_sticker, sticker_expired, bad_receipt, storage, bad_passphrase,
 * unknown_payment, bridge, offline, insecure_url, not_supported, ble). Protocol failures stay as the cause.
 */
public final class WalletException extends Exception {
  private static final long serialVersionUID = 1L;
  private final String code;
  private final String remoteCode;
  private final int status;

  public WalletException(String code, String message) {
    this(code, message, null, null, 0);
  }

  public WalletException(String code, String message, Throwable cause) {
    this(code, message, cause, null, 0);
  }

  public WalletException(String code, String message, Throwable cause, String remoteCode, int status) {
    super(message, cause);
    this.code = code;
    this.remoteCode = remoteCode;
    this.status = status;
  }

  public String code() {
    return code;
  }

  /** The other side's code: the bridge's error code ({@code bridge}) or the box's rejection code ({@code ble}). */
  public String remoteCode() {
    return remoteCode;
  }

  /** The HTTP status ({@code bridge} only), else 0. */
  public int status() {
    return status;
  }

  @Override
  public String toString() {
    return "WalletException(" + code + (remoteCode != null ? "/" + remoteCode : "") + "): " + getMessage();
  }
}
