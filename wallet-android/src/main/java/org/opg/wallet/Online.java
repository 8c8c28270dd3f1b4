package org.opg.wallet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The online steps of a wallet, each one call: register, load a purse, sync the signed log, claim. */
public final class Online {
  private Online() {}

  /**
   * Register the wallet's key (needs an operator key: in an app this runs on the app's backend). Saves wallet
   * id, tenant, API key and issuer keyring in the wallet; returns a client with the wallet's own key.
   */
  public static BridgeClient register(Wallet wallet, BridgeClient operator, String phone) throws WalletException {
    String[] reg = operator.registerWallet(wallet.publicKey(), phone);
    BridgeClient client = operator.withKey(reg[1]);
    String tenantId = BridgeClient.str(client.tenant(), "id");
    wallet.setRegistration(reg[0], tenantId, reg[1], client.issuerKeys());
    return client;
  }

  /** Upload every token the bridge has not acknowledged; returns the bridge's results in log order. */
  public static List<Map<String, Object>> sync(Wallet wallet, BridgeClient client) throws WalletException {
    String walletId = requireId(wallet);
    wallet.setRegistration(null, null, null, client.issuerKeys());
    List<LogEntry> pending = wallet.unsynced();
    if (pending.isEmpty()) return new ArrayList<>();
    List<byte[]> tokens = new ArrayList<>();
    for (LogEntry e : pending) tokens.add(org.opg.wallet.protocol.Bytes.unhex(e.token));
    List<Map<String, Object>> results = client.uploadLog(walletId, tokens);
    Map<String, String> outcomes = new LinkedHashMap<>();
    for (Map<String, Object> r : results) {
      String outcome = BridgeClient.str(r, "outcome");
      Object code = r.get("code");
      // A rejected token will be rejected again: record the outcome instead of retrying forever.
      outcomes.put(pending.get((int) BridgeClient.num(r, "index")).txId, outcome.equals("rejected") ? "rejected:" + code : outcome);
    }
    wallet.markSynced(outcomes);
    return results;
  }

  /** Sync, then escrow {@code amount} into a new purse and install its certificate (purse_active if one is live). */
  public static PurseStatus loadPurse(Wallet wallet, BridgeClient client, long amount, Long perPaymentLimit, boolean replace)
      throws WalletException {
    PurseStatus current = wallet.purse();
    if (current != null && !current.expired && current.remaining > 0 && !replace) {
      throw new WalletException("purse_active", "the current purse still holds " + current.remaining);
    }
    sync(wallet, client);
    return wallet.installPurse(client.loadPurse(requireId(wallet), amount, perPaymentLimit));
  }

  /** Dispute a payment; syncs first so the bridge knows the payer's side. */
  public static Map<String, Object> claim(Wallet wallet, BridgeClient client, String txId, String reason) throws WalletException {
    sync(wallet, client);
    return client.fileClaim(requireId(wallet), txId, reason);
  }

  private static String requireId(Wallet wallet) throws WalletException {
    if (wallet.walletId() == null) throw new WalletException("no_wallet", "this wallet is not registered with a bridge");
    return wallet.walletId();
  }
}
