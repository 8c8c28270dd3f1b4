package org.opg.wallet;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.opg.wallet.protocol.Bytes;
import org.opg.wallet.protocol.Crypto;
import org.opg.wallet.protocol.Ids;
import org.opg.wallet.protocol.NodeCertificate;
import org.opg.wallet.protocol.PaymentToken;
import org.opg.wallet.protocol.ProtocolError;
import org.opg.wallet.protocol.Receipt;
import org.opg.wallet.protocol.Sticker;
import org.opg.wallet.protocol.WalletCertificate;

/**
 * The wallet: identity, offline purse and signed log over a {@link SecureStore}. It refuses what the box would
 * refuse before signing anything, and never signs two different tokens with one counter: the counter and the
 * exact token content are written ahead (durably) before signing, and a crash between signing and saving is
 * repaired at {@link #open} by re-signing that same content (Ed25519 is deterministic: the same bytes).
 * Every mutation is synchronized and persisted before it is adopted in memory.
 */
public final class Wallet {
  private final SecureStore store;
  private final LongSupplier clock;
  private final LongFunction<String> txIds;
  private WalletState state;
  private final List<String> recovered = new ArrayList<>();

  private Wallet(SecureStore store, LongSupplier clock, LongFunction<String> txIds, WalletState state) {
    this.store = store;
    this.clock = clock;
    this.txIds = txIds;
    this.state = state;
  }

  /** Create a wallet with a fresh Ed25519 seed in empty {@code store} (wallet_exists otherwise). */
  public static Wallet create(SecureStore store, Map<String, byte[]> issuerKeys, LongSupplier clock) throws WalletException {
    if (read(store) != null) throw new WalletException("wallet_exists", "storage holds a wallet");
    WalletState s = new WalletState();
    byte[] seed = Crypto.randomBytes(32);
    s.seed = Bytes.hex(seed);
    s.publicKey = Bytes.hex(Crypto.ed25519PublicKey(seed));
    if (issuerKeys != null) for (Map.Entry<String, byte[]> e : issuerKeys.entrySet()) s.issuerKeys.put(e.getKey(), Bytes.hex(e.getValue()));
    Wallet w = new Wallet(store, clock, Ids::uuidv7, s);
    w.save(s);
    return w;
  }

  /** True when {@code store} holds a wallet. */
  public static boolean exists(SecureStore store) throws WalletException {
    return read(store) != null;
  }

  /** Open the wallet in {@code store} (no_wallet if none), finishing any payment a crash interrupted. */
  public static Wallet open(SecureStore store, LongSupplier clock) throws WalletException {
    return open(store, clock, Ids::uuidv7);
  }

  /** As {@link #open(SecureStore, LongSupplier)} with a source of tx ids (fixed ids reproduce vectors). */
  public static Wallet open(SecureStore store, LongSupplier clock, LongFunction<String> txIds) throws WalletException {
    WalletState s = read(store);
    if (s == null) throw new WalletException("no_wallet", "no wallet in this storage: create one first");
    if (s.seed == null) throw new WalletException("storage", "this wallet has no signing seed");
    Wallet w = new Wallet(store, clock, txIds, s);
    synchronized (w) {
      w.recoverPending();
    }
    return w;
  }

  private static WalletState read(SecureStore store) throws WalletException {
    try {
      byte[] b = store.get(WalletState.KEY);
      return b == null ? null : WalletState.decode(new String(b, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new WalletException("storage", "could not read the wallet state", e);
    }
  }

  public synchronized byte[] publicKey() {
    return Bytes.unhex(state.publicKey);
  }

  public synchronized String walletId() {
    return state.walletId;
  }

  public synchronized String tenantId() {
    return state.tenantId;
  }

  public synchronized String apiKey() {
    return state.apiKey;
  }

  /** Wallet clock, ms. */
  public long now() {
    return clock.getAsLong();
  }

  private long nowS() {
    return Math.floorDiv(clock.getAsLong(), 1000L);
  }

  /** Tx ids of payments re-signed at open after a crash: count as spent; offer to show them ({@link #payment}). */
  public synchronized List<String> recovered() {
    return Collections.unmodifiableList(new ArrayList<>(recovered));
  }

  public synchronized Map<String, byte[]> issuerKeys() {
    Map<String, byte[]> m = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : state.issuerKeys.entrySet()) m.put(e.getKey(), Bytes.unhex(e.getValue()));
    return m;
  }

  /** Record what registration returned; issuer keys are merged (old ids stay for rotation). Null fields are kept. */
  public synchronized void setRegistration(String walletId, String tenantId, String apiKey, Map<String, byte[]> issuerKeys)
      throws WalletException {
    WalletState n = state.copy();
    if (walletId != null) n.walletId = walletId;
    if (tenantId != null) n.tenantId = tenantId;
    if (apiKey != null) n.apiKey = apiKey;
    if (issuerKeys != null) for (Map.Entry<String, byte[]> e : issuerKeys.entrySet()) n.issuerKeys.put(e.getKey(), Bytes.hex(e.getValue()));
    save(n);
  }

  /** Install the purse certificate the bridge issued (bad_certificate, cert_expired). The log is kept. */
  public synchronized PurseStatus installPurse(byte[] certBytes) throws WalletException {
    recoverPending();
    WalletCertificate cert;
    try {
      cert = WalletCertificate.decode(certBytes);
      cert.verify(issuerKeys(), null);
    } catch (ProtocolError e) {
      throw new WalletException("bad_certificate", "the purse certificate does not verify", e);
    }
    if (!Bytes.equal(cert.publicKey, publicKey())) throw new WalletException("bad_certificate", "the purse certificate is for another wallet key");
    if (state.walletId != null && !cert.walletId.equals(state.walletId)) throw new WalletException("bad_certificate", "the purse certificate names another wallet id");
    if (nowS() >= cert.expiresAt) throw new WalletException("cert_expired", "the purse certificate has expired");
    // Reinstalling a used certificate would reset its remaining amount: spending past the escrow.
    if (state.lastCounter != null && cert.counterBase < state.lastCounter) {
      throw new WalletException("bad_certificate", "this purse certificate covers counters already used");
    }
    WalletState n = state.copy();
    if (n.walletId == null) n.walletId = cert.walletId;
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("cert", Bytes.hex(cert.bytes()));
    p.put("remaining", cert.purseAmount);
    p.put("nextCounter", cert.counterBase + 1);
    p.put("prevHash", Bytes.hex(PaymentToken.chainStart(cert)));
    p.put("loadedAt", now());
    n.purse = p;
    save(n);
    return purse();
  }

  /** The offline purse, or null when none is loaded. */
  public synchronized PurseStatus purse() {
    if (state.purse == null) return null;
    WalletCertificate c = purseCert();
    return new PurseStatus(c.walletId, c.currency, c.purseAmount, Json.num(state.purse, "remaining"), c.perPaymentLimit,
        Json.num(state.purse, "nextCounter"), c.issuedAt, c.expiresAt, nowS() >= c.expiresAt);
  }

  private WalletCertificate purseCert() {
    try {
      return WalletCertificate.decode(Bytes.unhex(Json.str(state.purse, "cert")));
    } catch (ProtocolError e) {
      throw new IllegalStateException("stored purse certificate no longer decodes", e);
    }
  }

  /** Decode and verify a merchant sticker (bad_sticker, forged_sticker, sticker_expired). */
  public MerchantTarget readSticker(String text) throws WalletException {
    Sticker s;
    try {
      s = Sticker.decode(text == null ? null : text.trim());
    } catch (ProtocolError e) {
      throw new WalletException("bad_sticker", "this is not an opg merchant sticker", e);
    }
    try {
      s.nodeCert.verify(issuerKeys(), nowS());
    } catch (ProtocolError e) {
      if (e.code().equals("expired")) throw new WalletException("sticker_expired", "the sticker's certificate has expired", e);
      throw new WalletException("forged_sticker", "the sticker is not signed by a known issuer", e);
    }
    return new MerchantTarget(s.nodeCert, s.merchantName);
  }

  /** Sign an offline payment (no network) and seal it to the box: show {@link Payment#qrText}. */
  public Payment pay(String sticker, long amount) throws WalletException {
    return pay(readSticker(sticker), amount, null);
  }

  /**
   * Sign an offline payment to {@code target}, with the BLE session {@code challenge} or null for QR. The amount
   * is spent from the moment this returns. Refusals: no_purse, bad_amount, cert_expired, bad_certificate,
   * over_limit, purse_exhausted, storage.
   */
  public synchronized Payment pay(MerchantTarget target, long amount, byte[] challenge) throws WalletException {
    recoverPending();
    if (state.purse == null) throw new WalletException("no_purse", "no offline purse loaded: load one while online");
    WalletCertificate cert = purseCert();
    long remaining = Json.num(state.purse, "remaining");
    SpendRules.check(cert, issuerKeys(), remaining, amount, nowS());
    long now = now();
    long counter = Json.num(state.purse, "nextCounter");
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("txId", txIds.apply(now));
    p.put("merchantId", target.merchantId);
    p.put("deviceId", target.deviceId);
    p.put("merchantName", target.merchantName);
    p.put("nodeCert", Bytes.hex(target.nodeCert.bytes()));
    p.put("amount", amount);
    p.put("counter", counter);
    p.put("prevHash", Json.str(state.purse, "prevHash"));
    p.put("walletTime", Math.floorDiv(now, 1000L));
    if (challenge != null) p.put("challenge", Bytes.hex(challenge));
    p.put("createdAt", now);
    // Write-ahead: the counter is taken and the exact content fixed before any signature exists.
    WalletState n = state.copy();
    n.purse.put("nextCounter", counter + 1);
    n.lastCounter = counter;
    n.pending = p;
    save(n);
    return sealed(commitPending(false), target);
  }

  private static Payment sealed(PaymentToken token, MerchantTarget target) throws WalletException {
    try {
      return new Payment(token, target);
    } catch (ProtocolError e) {
      throw new WalletException("forged_sticker", "the box's encryption key is not usable", e);
    }
  }

  /** A logged payment sealed again (same token, same tx id: showing it twice never pays twice). */
  public synchronized Payment payment(String txId) throws WalletException {
    Map<String, Object> e = find(txId);
    try {
      NodeCertificate nc = NodeCertificate.decode(Bytes.unhex(Json.str(e, "nodeCert")));
      return sealed(PaymentToken.decode(Bytes.unhex(Json.str(e, "token"))), new MerchantTarget(nc, Json.str(e, "merchantName")));
    } catch (ProtocolError err) {
      throw new WalletException("storage", "a logged payment no longer decodes", err);
    }
  }

  private Map<String, Object> find(String txId) throws WalletException {
    for (Map<String, Object> e : state.log) if (txId.equals(e.get("txId"))) return e;
    throw new WalletException("unknown_payment", "no payment " + txId + " in this wallet");
  }

  /** Verify the box's receipt for {@code payment} (bad_receipt) and keep it in the log. */
  public synchronized Receipt acceptReceipt(Payment payment, byte[] receiptBytes) throws WalletException {
    Receipt r;
    try {
      r = Receipt.decode(receiptBytes);
      r.verify(payment.target.nodeCert.signingKey, payment.token);
    } catch (ProtocolError e) {
      throw new WalletException("bad_receipt", "the receipt does not prove this payment", e);
    }
    WalletState n = state.copy();
    for (Map<String, Object> e : n.log) if (payment.txId.equals(e.get("txId"))) e.put("receipt", Bytes.hex(r.bytes()));
    save(n);
    return r;
  }

  /** The signed log, oldest first. */
  public synchronized List<LogEntry> log() {
    List<LogEntry> out = new ArrayList<>();
    for (Map<String, Object> e : state.log) out.add(new LogEntry(e));
    return out;
  }

  /** Entries still to upload: not acknowledged by the bridge, not refused by a box. */
  public synchronized List<LogEntry> unsynced() {
    List<LogEntry> out = new ArrayList<>();
    for (LogEntry e : log()) if (e.syncedAt == null && e.refused == null) out.add(e);
    return out;
  }

  /** The box refused this payment over BLE with {@code code}: it is never uploaded. */
  public synchronized void markRefused(String txId, String code) throws WalletException {
    WalletState n = state.copy();
    for (Map<String, Object> e : n.log) if (txId.equals(e.get("txId"))) e.put("refused", code);
    save(n);
  }

  /** Mark entries acknowledged by the bridge with their outcome. */
  public synchronized void markSynced(Map<String, String> outcomes) throws WalletException {
    WalletState n = state.copy();
    long at = now();
    for (Map<String, Object> e : n.log) {
      String o = outcomes.get((String) e.get("txId"));
      if (o != null) {
        e.put("syncedAt", at);
        e.put("syncOutcome", o);
      }
    }
    save(n);
  }

  /** A crash left a reserved payment: re-sign exactly that content and commit it (never a new token). */
  private void recoverPending() throws WalletException {
    if (state.pending == null) return;
    recovered.add(commitPending(true).txId);
  }

  /** Sign the pending record and commit it to the log in one write. */
  private PaymentToken commitPending(boolean wasRecovered) throws WalletException {
    Map<String, Object> p = state.pending;
    if (state.purse == null) throw new WalletException("storage", "a pending payment without a purse");
    WalletCertificate cert = purseCert();
    PaymentToken token;
    try {
      String ch = Json.optStr(p, "challenge");
      byte[] body = PaymentToken.body(cert, Json.str(p, "txId"), Json.str(p, "merchantId"), Json.str(p, "deviceId"),
          Json.num(p, "amount"), Json.num(p, "counter"), Bytes.unhex(Json.str(p, "prevHash")), Json.num(p, "walletTime"),
          ch == null ? null : Bytes.unhex(ch));
      token = PaymentToken.sign(Bytes.unhex(state.seed), body);
    } catch (ProtocolError e) {
      throw new WalletException("storage", "the reserved payment cannot be signed", e);
    }
    Map<String, Object> entry = new LinkedHashMap<>();
    entry.put("txId", token.txId);
    entry.put("counter", token.counter);
    entry.put("amount", token.amount);
    entry.put("currency", token.currency());
    entry.put("merchantId", token.merchantId);
    entry.put("deviceId", token.deviceId);
    entry.put("merchantName", p.get("merchantName"));
    entry.put("nodeCert", p.get("nodeCert"));
    entry.put("token", Bytes.hex(token.bytes()));
    entry.put("createdAt", p.get("createdAt"));
    if (wasRecovered) entry.put("recovered", true);
    WalletState n = state.copy();
    n.pending = null;
    n.purse.put("remaining", Json.num(n.purse, "remaining") - token.amount);
    n.purse.put("prevHash", Bytes.hex(token.hash()));
    n.log.add(entry);
    save(n);
    return token;
  }

  /** Persist {@code next}, then adopt it: memory never runs ahead of storage. */
  private void save(WalletState next) throws WalletException {
    try {
      store.put(WalletState.KEY, next.encode().getBytes(StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      throw new WalletException("storage", "could not save the wallet state", e);
    }
    state = next;
  }
}
