package org.opg.wallet.protocol;

import java.util.Arrays;
import java.util.List;

/** Purpose keys (SPEC.md §2): SP 800-108 counter mode, AES-CMAC PRF; and the SMS confirmation tag (§9). */
public final class Kdf {
  private Kdf() {}

  public static final List<String> PURPOSES = Arrays.asList("vault", "state", "mqtt", "sms", "broker");

  /** {@code AES-CMAC(deviceSecret, 0x01 || "opg " || purpose || 0x00 || deviceId(8) || 0x0080)}. */
  public static byte[] deriveKey(byte[] deviceSecret, String purpose, byte[] deviceId) throws ProtocolError {
    if (!PURPOSES.contains(purpose)) throw new ProtocolError("bad_field", "unknown key purpose " + purpose);
    return Crypto.aesCmac(deviceSecret,
        Bytes.concat(new byte[] {1}, Bytes.utf8("opg " + purpose), new byte[] {0}, deviceId, new byte[] {0, (byte) 0x80}));
  }

  /** {@code OPG1 PAID <ref> <amount> <currency> <counter> <TAG>} (§9). */
  public static String paidSms(byte[] smsKey, String deviceId, String ref, long amount, String currency, long counter)
      throws ProtocolError {
    ProtocolError.check(ref.matches("^[A-Za-z0-9-]{1,32}$"), "bad_field", "ref must be 1-32 of [A-Za-z0-9-]");
    ProtocolError.check(currency.matches("^[A-Z]{3}$"), "bad_field", "bad currency");
    ProtocolError.check(amount > 0 && counter >= 0 && counter <= 0xffffffffL, "bad_field", "amount or counter out of range");
    byte[] mac = Crypto.aesCmac(smsKey, Bytes.concat(Bytes.utf8("opg/v1 sms"), new byte[] {0},
        Bytes.utf8(deviceId + "|" + ref + "|" + amount + "|" + currency + "|" + counter)));
    return "OPG1 PAID " + ref + " " + amount + " " + currency + " " + counter + " "
        + Bytes.hex(Arrays.copyOf(mac, 8)).toUpperCase(java.util.Locale.ROOT);
  }
}
