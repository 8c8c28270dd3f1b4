package org.opg.wallet;

import java.util.Map;

/** One signed token of the wallet's log (the payer's side of reconciliation), as an app shows it. */
public final class LogEntry {
  public final String txId;
  public final long counter;
  public final long amount;
  public final String currency;
  public final String merchantId;
  public final String deviceId;
  public final String merchantName;
  /** The box's node certificate and the signed token, hex. */
  public final String nodeCert;
  public final String token;
  public final long createdAt;
  /** Re-signed after a crash between signing and saving: the customer may never have shown it. */
  public final boolean recovered;
  /** The box's rejection code when it refused this token over BLE (never uploaded), else null. */
  public final String refused;
  /** The box's receipt (hex) when one came back, else null. */
  public final String receipt;
  /** When the bridge acknowledged the token (ms) and what it said, else null. */
  public final Long syncedAt;
  public final String syncOutcome;

  LogEntry(Map<String, Object> m) {
    txId = Json.str(m, "txId");
    counter = Json.num(m, "counter");
    amount = Json.num(m, "amount");
    currency = Json.str(m, "currency");
    merchantId = Json.str(m, "merchantId");
    deviceId = Json.str(m, "deviceId");
    merchantName = Json.str(m, "merchantName");
    nodeCert = Json.str(m, "nodeCert");
    token = Json.str(m, "token");
    createdAt = Json.num(m, "createdAt");
    recovered = Boolean.TRUE.equals(m.get("recovered"));
    refused = Json.optStr(m, "refused");
    receipt = Json.optStr(m, "receipt");
    syncedAt = m.get("syncedAt") == null ? null : Json.num(m, "syncedAt");
    syncOutcome = Json.optStr(m, "syncOutcome");
  }
}
