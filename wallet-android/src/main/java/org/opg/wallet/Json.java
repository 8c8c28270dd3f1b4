package org.opg.wallet;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON reader and writer for the wallet state and the bridge API (Android has org.json, the JVM
 * does not; this keeps the core on java.* alone). Objects are LinkedHashMap, arrays ArrayList, numbers Long when
 * whole and Double otherwise. A malformed document is IllegalArgumentException, which callers turn into their
 * typed error.
 */
public final class Json {
  private final String s;
  private int i;
  private static final int MAX_DEPTH = 64;

  private Json(String s) {
    this.s = s;
  }

  public static Object parse(String text) {
    Json p = new Json(text);
    p.ws();
    Object v = p.value(0);
    p.ws();
    if (p.i != text.length()) throw new IllegalArgumentException("JSON: trailing characters at " + p.i);
    return v;
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> parseObject(String text) {
    Object v = parse(text);
    if (!(v instanceof Map)) throw new IllegalArgumentException("JSON: expected an object");
    return (Map<String, Object>) v;
  }

  private void ws() {
    while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++;
  }

  private char peek() {
    if (i >= s.length()) throw new IllegalArgumentException("JSON: unexpected end");
    return s.charAt(i);
  }

  private void expect(String word) {
    if (!s.startsWith(word, i)) throw new IllegalArgumentException("JSON: expected " + word + " at " + i);
    i += word.length();
  }

  private Object value(int depth) {
    if (depth > MAX_DEPTH) throw new IllegalArgumentException("JSON: nested too deep");
    char c = peek();
    switch (c) {
      case '{': {
        i++;
        Map<String, Object> m = new LinkedHashMap<>();
        ws();
        if (peek() == '}') {
          i++;
          return m;
        }
        while (true) {
          ws();
          if (peek() != '"') throw new IllegalArgumentException("JSON: expected a key at " + i);
          String k = string();
          ws();
          expect(":");
          ws();
          m.put(k, value(depth + 1));
          ws();
          if (peek() == ',') {
            i++;
            continue;
          }
          expect("}");
          return m;
        }
      }
      case '[': {
        i++;
        List<Object> l = new ArrayList<>();
        ws();
        if (peek() == ']') {
          i++;
          return l;
        }
        while (true) {
          ws();
          l.add(value(depth + 1));
          ws();
          if (peek() == ',') {
            i++;
            continue;
          }
          expect("]");
          return l;
        }
      }
      case '"':
        return string();
      case 't':
        expect("true");
        return Boolean.TRUE;
      case 'f':
        expect("false");
        return Boolean.FALSE;
      case 'n':
        expect("null");
        return null;
      default:
        return number();
    }
  }

  private String string() {
    i++;
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = peek();
      i++;
      if (c == '"') return b.toString();
      if (c < 0x20) throw new IllegalArgumentException("JSON: control character in string");
      if (c != '\\') {
        b.append(c);
        continue;
      }
      char e = peek();
      i++;
      switch (e) {
        case '"': case '\\': case '/': b.append(e); break;
        case 'b': b.append('\b'); break;
        case 'f': b.append('\f'); break;
        case 'n': b.append('\n'); break;
        case 'r': b.append('\r'); break;
        case 't': b.append('\t'); break;
        case 'u':
          if (i + 4 > s.length()) throw new IllegalArgumentException("JSON: bad \\u escape");
          b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
          i += 4;
          break;
        default: throw new IllegalArgumentException("JSON: bad escape");
      }
    }
  }

  private Object number() {
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
    String n = s.substring(start, i);
    if (n.isEmpty()) throw new IllegalArgumentException("JSON: unexpected character at " + start);
    try {
      if (n.matches("-?(0|[1-9][0-9]{0,17})")) return Long.parseLong(n);
      return Double.parseDouble(n);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("JSON: bad number " + n, e);
    }
  }

  /** Serialize maps, lists, strings, numbers, booleans, byte[] (as lowercase hex) and null. */
  public static String write(Object v) {
    StringBuilder b = new StringBuilder();
    write(b, v);
    return b.toString();
  }

  private static void write(StringBuilder b, Object v) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof String) {
      quote(b, (String) v);
    } else if (v instanceof Map) {
      b.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (e.getValue() == null) continue;
        if (!first) b.append(',');
        first = false;
        quote(b, String.valueOf(e.getKey()));
        b.append(':');
        write(b, e.getValue());
      }
      b.append('}');
    } else if (v instanceof List) {
      b.append('[');
      boolean first = true;
      for (Object x : (List<?>) v) {
        if (!first) b.append(',');
        first = false;
        write(b, x);
      }
      b.append(']');
    } else if (v instanceof byte[]) {
      quote(b, org.opg.wallet.protocol.Bytes.hex((byte[]) v));
    } else if (v instanceof Number || v instanceof Boolean) {
      b.append(v);
    } else {
      throw new IllegalArgumentException("JSON: cannot write " + v.getClass());
    }
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int k = 0; k < s.length(); k++) {
      char c = s.charAt(k);
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    b.append('"');
  }

  /** Typed field access for parsed objects; a missing or mistyped field is IllegalArgumentException. */
  public static String str(Map<String, Object> m, String k) {
    Object v = m.get(k);
    if (!(v instanceof String)) throw new IllegalArgumentException("JSON: " + k + " is not a string");
    return (String) v;
  }

  public static String optStr(Map<String, Object> m, String k) {
    Object v = m.get(k);
    return v instanceof String ? (String) v : null;
  }

  public static long num(Map<String, Object> m, String k) {
    Object v = m.get(k);
    if (!(v instanceof Long)) throw new IllegalArgumentException("JSON: " + k + " is not a whole number");
    return (Long) v;
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> obj(Map<String, Object> m, String k) {
    Object v = m.get(k);
    if (!(v instanceof Map)) throw new IllegalArgumentException("JSON: " + k + " is not an object");
    return (Map<String, Object>) v;
  }

  @SuppressWarnings("unchecked")
  public static List<Object> arr(Map<String, Object> m, String k) {
    Object v = m.get(k);
    if (!(v instanceof List)) throw new IllegalArgumentException("JSON: " + k + " is not an array");
    return (List<Object>) v;
  }
}
