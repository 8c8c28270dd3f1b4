package org.opg.wallet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The wallet's persisted state as one record (so a payment's commit is one atomic write), in the same JSON shape
 * as the TypeScript wallet's: identity, issuer keyring, the offline purse, the write-ahead pending payment and
 * the signed log. Instances are immutable snapshots: every change makes a copy, is saved, then adopted.
 */
final class WalletState {
  static final String KEY = "wallet";

  String publicKey;
  String seed;
  String walletId;
  String tenantId;
  String apiKey;
  Map<String, String> issuerKeys = new LinkedHashMap<>();
  Map<String, Object> purse;
  Long lastCounter;
  Map<String, Object> pending;
  List<Map<String, Object>> log = new ArrayList<>();

  WalletState copy() {
    WalletState s = new WalletState();
    s.publicKey = publicKey;
    s.seed = seed;
    s.walletId = walletId;
    s.tenantId = tenantId;
    s.apiKey = apiKey;
    s.issuerKeys = new LinkedHashMap<>(issuerKeys);
    s.purse = purse == null ? null : new LinkedHashMap<>(purse);
    s.lastCounter = lastCounter;
    s.pending = pending == null ? null : new LinkedHashMap<>(pending);
    s.log = new ArrayList<>();
    for (Map<String, Object> e : log) s.log.add(new LinkedHashMap<>(e));
    return s;
  }

  String encode() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("v", 1L);
    m.put("publicKey", publicKey);
    m.put("seed", seed);
    m.put("walletId", walletId);
    m.put("tenantId", tenantId);
    m.put("apiKey", apiKey);
    m.put("issuerKeys", issuerKeys);
    m.put("purse", purse);
    m.put("lastCounter", lastCounter);
    m.put("pending", pending);
    m.put("log", log);
    return Json.write(m);
  }

  @SuppressWarnings("unchecked")
  static WalletState decode(String text) throws WalletException {
    try {
      Map<String, Object> m = Json.parseObject(text);
      if (!Long.valueOf(1).equals(m.get("v"))) throw new WalletException("storage", "wallet state has an unknown format");
      WalletState s = new WalletState();
      s.publicKey = Json.str(m, "publicKey");
      s.seed = Json.optStr(m, "seed");
      s.walletId = Json.optStr(m, "walletId");
      s.tenantId = Json.optStr(m, "tenantId");
      s.apiKey = Json.optStr(m, "apiKey");
      for (Map.Entry<String, Object> e : Json.obj(m, "issuerKeys").entrySet()) s.issuerKeys.put(e.getKey(), (String) e.getValue());
      s.purse = m.get("purse") == null ? null : Json.obj(m, "purse");
      s.lastCounter = m.get("lastCounter") == null ? null : Json.num(m, "lastCounter");
      s.pending = m.get("pending") == null ? null : Json.obj(m, "pending");
      for (Object e : Json.arr(m, "log")) s.log.add((Map<String, Object>) e);
      return s;
    } catch (IllegalArgumentException | ClassCastException e) {
      throw new WalletException("storage", "wallet state is not readable", e);
    }
  }
}
