package org.opg.wallet.protocol;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;

/**
 * The one error of the opg protocol (SPEC.md §11). Checked, so a caller of a decoder or verifier is made to
 * handle it; {@link #code()} is one of the stable codes in {@link #CODES} and is what callers switch on.
 */
public final class ProtocolError extends Exception {
  private static final long serialVersionUID = 1L;

  /** Every stable code, as SPEC.md §11 lists them. */
  public static final Set<String> CODES =
      Collections.unmodifiableSet(
          new HashSet<>(
              Arrays.asList(
                  "bad_prefix", "bad_encoding", "bad_version", "bad_type", "bad_length", "truncated",
                  "trailing_bytes", "oversized", "bad_field", "unknown_key", "bad_signature", "bad_tag",
                  "bad_key", "expired", "not_yet_valid", "wrong_merchant", "wrong_device",
                  "wrong_currency", "over_limit", "over_purse", "bad_counter", "replay", "revoked",
                  "exposure_cap", "bad_challenge", "bad_chain", "double_spend", "bad_state",
                  "bad_sequence", "timeout")));

  private final String code;

  public ProtocolError(String code, String message) {
    this(code, message, null);
  }

  public ProtocolError(String code, String message, Throwable cause) {
    super(message, cause);
    if (!CODES.contains(code)) throw new IllegalArgumentException("unknown protocol error code " + code);
    this.code = code;
  }

  /** The stable code (e.g. {@code bad_signature}). */
  public String code() {
    return code;
  }

  /** Throw {@code ProtocolError(code, message)} unless {@code cond}. */
  public static void check(boolean cond, String code, String message) throws ProtocolError {
    if (!cond) throw new ProtocolError(code, message);
  }

  @Override
  public String toString() {
    return "ProtocolError(" + code + "): " + getMessage();
  }
}
