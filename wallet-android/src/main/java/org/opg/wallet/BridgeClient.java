package org.opg.wallet;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A typed client for the bridge's wallet API over {@link HttpURLConnection} (what Android has; java.net.http is
 * not there). Bytes travel as base64url. Failures are WalletException: {@code insecure_url} (plain http to
 * anything but loopback, refused before any request), {@code offline} (cannot reach the bridge), {@code bridge}
 * with the HTTP status and the bridge's error code as {@link WalletException#remoteCode()}.
 */
public final class BridgeClient {
  /** The largest log upload the bridge takes in one request. */
  public static final int LOG_BATCH_MAX = 500;

  private final String baseUrl;
  private final String apiKey;
  private final int timeoutMs;

  public BridgeClient(String baseUrl, String apiKey) throws WalletException {
    this(baseUrl, apiKey, 15_000);
  }

  public BridgeClient(String baseUrl, String apiKey, int timeoutMs) throws WalletException {
    this.baseUrl = checkUrl(baseUrl).replaceAll("/+$", "");
    this.apiKey = apiKey;
    this.timeoutMs = timeoutMs;
  }

  /** The same bridge with another API key. */
  public BridgeClient withKey(String key) throws WalletException {
    return new BridgeClient(baseUrl, key, timeoutMs);
  }

  public String baseUrl() {
    return baseUrl;
  }

  /** https://, or http:// only to loopback (localhost, 127.0.0.0/8, [::1]); insecure_url otherwise. */
  public static String checkUrl(String url) throws WalletException {
    URI u;
    try {
      u = new URI(url);
    } catch (URISyntaxException | NullPointerException e) {
      throw new WalletException("insecure_url", "the bridge URL is not a valid URL", e);
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
    String host = u.getHost() == null ? "" : u.getHost().toLowerCase(java.util.Locale.ROOT);
    if (scheme.equals("https") && !host.isEmpty()) return url;
    boolean loopback = host.equals("localhost") || host.equals("[::1]") || host.equals("::1")
        || host.matches("^127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$");
    if (scheme.equals("http") && loopback) return url;
    throw new WalletException("insecure_url", "refusing " + scheme + "://" + host + ": the bridge must be reached over https:// (http:// only to loopback)");
  }

  public static String b64u(byte[] b) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  public static byte[] fromB64u(String s) throws WalletException {
    try {
      return Base64.getUrlDecoder().decode(s);
    } catch (IllegalArgumentException e) {
      throw new WalletException("bridge", "the bridge sent bytes that are not base64url", e);
    }
  }

  /** The tenant of the calling key ({@code id}, {@code currency}, {@code role} …). */
  public Map<String, Object> tenant() throws WalletException {
    return call("GET", "/v1/tenant", null);
  }

  /** The tenant's issuer keys by key id. */
  public Map<String, byte[]> issuerKeys() throws WalletException {
    Map<String, byte[]> out = new LinkedHashMap<>();
    for (Object o : list(call("GET", "/v1/issuer/keys", null), "keys")) {
      Map<String, Object> k = asMap(o);
      out.put(str(k, "keyId"), fromB64u(str(k, "publicKey")));
    }
    return out;
  }

  /** Register a wallet key and phone (operator key). Returns {@code [walletId, apiKey]}. */
  public String[] registerWallet(byte[] publicKey, String phone) throws WalletException {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("publicKey", b64u(publicKey));
    body.put("phone", phone);
    Map<String, Object> r = call("POST", "/v1/wallets", body);
    return new String[] {str(asMap(r.get("wallet")), "id"), str(asMap(r.get("apiKey")), "key")};
  }

  public Map<String, Object> balance(String walletId) throws WalletException {
    return call("GET", "/v1/wallets/" + id(walletId) + "/balance", null);
  }

  /** Top up by card with a payment-provider token (never a card number); idempotent by key. */
  public Map<String, Object> topUpByCard(String walletId, long amount, String currency, String cardToken, String idempotencyKey)
      throws WalletException {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("amount", amount);
    b.put("currency", currency);
    b.put("cardToken", cardToken);
    b.put("idempotencyKey", idempotencyKey);
    return call("POST", "/v1/wallets/" + id(walletId) + "/topups", b);
  }

  /** Escrow {@code amount} and get the purse certificate (the wallet's key). */
  public byte[] loadPurse(String walletId, long amount, Long perPaymentLimit) throws WalletException {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("amount", amount);
    if (perPaymentLimit != null) b.put("perPaymentLimit", perPaymentLimit);
    return fromB64u(str(call("POST", "/v1/wallets/" + id(walletId) + "/purses", b), "certificate"));
  }

  /** Upload signed tokens oldest first, in batches; one result per token ({@code outcome}, {@code status}, {@code code}). */
  public List<Map<String, Object>> uploadLog(String walletId, List<byte[]> tokens) throws WalletException {
    List<Map<String, Object>> out = new ArrayList<>();
    for (int i = 0; i < tokens.size(); i += LOG_BATCH_MAX) {
      List<Object> batch = new ArrayList<>();
      for (byte[] t : tokens.subList(i, Math.min(tokens.size(), i + LOG_BATCH_MAX))) batch.add(b64u(t));
      Map<String, Object> b = new LinkedHashMap<>();
      b.put("tokens", batch);
      for (Object o : list(call("POST", "/v1/wallets/" + id(walletId) + "/log", b), "results")) {
        Map<String, Object> r = new LinkedHashMap<>(asMap(o));
        r.put("index", num(r, "index") + i);
        out.add(r);
      }
    }
    return out;
  }

  /** One offline payment's status at the bridge ({@code status}: held, confirmed, claimed, double_spend …). */
  public Map<String, Object> payment(String txId) throws WalletException {
    if (!txId.matches("^[0-9a-f-]{36}$")) throw new WalletException("unknown_payment", "not a tx id");
    return call("GET", "/v1/payments/" + txId, null);
  }

  /** The wallet's offline payments with their statuses, newest first. */
  public List<Map<String, Object>> history(String walletId, int limit) throws WalletException {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object o : list(call("GET", "/v1/wallets/" + id(walletId) + "/history?limit=" + limit, null), "payments")) out.add(asMap(o));
    return out;
  }

  public Map<String, Object> fileClaim(String walletId, String txId, String reason) throws WalletException {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("txId", txId);
    b.put("reason", reason);
    return call("POST", "/v1/wallets/" + id(walletId) + "/claims", b);
  }

  /** An invoice by id or {@code OPGI:} QR text. */
  public Map<String, Object> invoice(String invoice) throws WalletException {
    return call("GET", "/v1/invoices/" + invoiceId(invoice), null);
  }

  /** Pay an invoice from the wallet balance (cardToken null) or by card; idempotent by key. */
  public Map<String, Object> payInvoice(String invoice, String idempotencyKey, String cardToken) throws WalletException {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("method", cardToken == null ? "wallet" : "card");
    if (cardToken != null) b.put("cardToken", cardToken);
    b.put("idempotencyKey", idempotencyKey);
    return call("POST", "/v1/invoices/" + invoiceId(invoice) + "/payments", b);
  }

  /** Pay the merchant on a verified sticker from the balance, online (the QR transfer). */
  public Map<String, Object> transfer(String walletId, MerchantTarget to, long amount, String currency, String reference,
      String idempotencyKey) throws WalletException {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("merchantId", to.merchantId);
    b.put("deviceId", to.deviceId);
    b.put("amount", amount);
    b.put("currency", currency);
    if (reference != null) b.put("reference", reference);
    b.put("idempotencyKey", idempotencyKey);
    return call("POST", "/v1/wallets/" + id(walletId) + "/transfers", b);
  }

  /** The tenant and invoice ids of {@code OPGI:<tenant 16 hex><invoice 16 hex>}, or a bare invoice id. */
  public static String invoiceId(String invoice) throws WalletException {
    String t = invoice == null ? "" : invoice.trim();
    if (t.matches("^OPGI:[0-9a-f]{32}$")) return t.substring(21);
    if (t.matches("^[0-9a-f]{16}$")) return t;
    throw new WalletException("bad_sticker", "this is not an opg invoice QR code");
  }

  private static String id(String walletId) throws WalletException {
    if (walletId == null || !walletId.matches("^[0-9a-f]{16}$")) throw new WalletException("no_wallet", "wallet id must be 16 lowercase hex");
    return walletId;
  }

  /** A raw call with this client's key, timeout and error mapping; the parsed JSON object of a 2xx answer. */
  public Map<String, Object> call(String method, String path, Map<String, Object> body) throws WalletException {
    HttpURLConnection c;
    int status;
    byte[] answer;
    try {
      c = (HttpURLConnection) new URL(baseUrl + path).openConnection();
      c.setRequestMethod(method);
      c.setConnectTimeout(timeoutMs);
      c.setReadTimeout(timeoutMs);
      c.setUseCaches(false);
      c.setInstanceFollowRedirects(false);
      c.setRequestProperty("accept", "application/json");
      if (apiKey != null) c.setRequestProperty("authorization", "Bearer " + apiKey);
      if (body != null) {
        byte[] out = Json.write(body).getBytes(StandardCharsets.UTF_8);
        c.setDoOutput(true);
        c.setRequestProperty("content-type", "application/json");
        c.setFixedLengthStreamingMode(out.length);
        try (OutputStream os = c.getOutputStream()) {
          os.write(out);
        }
      }
      status = c.getResponseCode();
      InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
      answer = in == null ? new byte[0] : readAll(in);
    } catch (IOException e) {
      throw new WalletException("offline", "the bridge at " + baseUrl + " cannot be reached", e);
    }
    String text = new String(answer, StandardCharsets.UTF_8);
    Map<String, Object> parsed;
    try {
      parsed = text.isEmpty() ? new LinkedHashMap<>() : Json.parseObject(text);
    } catch (IllegalArgumentException e) {
      throw new WalletException("bridge", "the bridge answered " + status + " with non-JSON", e, null, status);
    }
    if (status < 200 || status >= 300) {
      Object err = parsed.get("error");
      String code = err instanceof Map ? Json.optStr(asMap(err), "code") : null;
      String msg = err instanceof Map ? Json.optStr(asMap(err), "message") : null;
      throw new WalletException("bridge", "bridge refused " + method + " " + path + ": " + (code == null ? status : code)
          + (msg == null ? "" : ": " + msg), null, code, status);
    }
    return parsed;
  }

  private static byte[] readAll(InputStream in) throws IOException {
    try (InputStream i = in) {
      ByteArrayOutputStream o = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      for (int n; (n = i.read(buf)) > 0; ) {
        o.write(buf, 0, n);
        if (o.size() > 4 << 20) throw new IOException("bridge answer over 4 MiB");
      }
      return o.toByteArray();
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> asMap(Object o) throws WalletException {
    if (!(o instanceof Map)) throw new WalletException("bridge", "unexpected answer from the bridge");
    return (Map<String, Object>) o;
  }

  static String str(Map<String, Object> m, String k) throws WalletException {
    Object v = m.get(k);
    if (!(v instanceof String)) throw new WalletException("bridge", "the bridge answer lacks " + k);
    return (String) v;
  }

  static long num(Map<String, Object> m, String k) throws WalletException {
    Object v = m.get(k);
    if (!(v instanceof Long)) throw new WalletException("bridge", "the bridge answer lacks " + k);
    return (Long) v;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Map<String, Object> m, String k) throws WalletException {
    Object v = m.get(k);
    if (!(v instanceof List)) throw new WalletException("bridge", "the bridge answer lacks " + k);
    return (List<Object>) v;
  }
}
