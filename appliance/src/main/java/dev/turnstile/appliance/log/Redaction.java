package dev.turnstile.appliance.log;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Takes secrets out of a text before it reaches a log line, a status or an API answer (issue 12,
 * finding 7). Applied where error texts are made (the store's, the sync's, the license's) and once
 * more by {@link SafeEncoder} on every log line. What it removes, each replaced by {@value #MASK}:
 * <ul>
 *   <li>the password of a URL's user-info ({@code postgresql://user:***@host/db}), even when the
 *       password holds characters that break the URL ({@code /}, {@code @}, {@code ?}); the whole
 *       user-info of an {@code http(s)://} or {@code ws(s)://} URL (a token in the user name);</li>
 *   <li>the value of a password-like key, in a query string, a key=value list, YAML or JSON:
 *       {@code password}, {@code sslpassword}, {@code passwd}, {@code pwd}, {@code secret},
 *       {@code client_secret}, {@code token}, {@code access_token}, {@code api_token},
 *       {@code api_key}, {@code access_key}, {@code private_key}, {@code credentials}, ...;</li>
 *   <li>the credentials of an {@code Authorization: Bearer|Basic ...} header.</li>
 * </ul>
 * Over-redacting is preferred to leaking: a text that merely looks like one of these loses a value.
 * (Known secret values are not searched for as literals: a password such as {@code turnstile} would
 * then blank every path and name that holds the word.)
 */
public final class Redaction {
    public static final String MASK = "***";
    private static final Pattern KEY_VALUE = Pattern.compile(
            "(?i)(?<![a-z0-9])([a-z0-9_.\\-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
                    + "|private[_-]?key|credentials?))([\"']?\\s*[=:]\\s*)(\"[^\"]*\"|'[^']*'|[^\\s&,;\"'<>()\\[\\]{}]+)");
    private static final Pattern AUTHORIZATION = Pattern.compile(
            "(?i)(authorization\"?\\s*[:=]\\s*\"?(?:bearer|basic)\\s+)([^\\s\"',;<>]+)");
    private static final Pattern SCHEME = Pattern.compile("(?i)([a-z][a-z0-9+.\\-]*)://");

    private Redaction() {
    }

    /** {@code text} without the secrets listed above; null stays null. */
    public static String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text;
        if (out.contains("://")) {
            out = urls(out);
        }
        if (mayHoldKeyValue(out)) {
            out = KEY_VALUE.matcher(out).replaceAll(Redaction::maskValue);
            out = AUTHORIZATION.matcher(out).replaceAll(m -> Matcher.quoteReplacement(m.group(1) + MASK));
        }
        return out;
    }

    /** {@link #redact} under the name of what it is used for: a URL to show (a store target, a cloud address). */
    public static String redactUrl(String url) {
        return url == null ? "(none)" : redact(url);
    }

    /** A cheap test before the regular expressions: every key the patterns know holds one of these letters runs. */
    private static boolean mayHoldKeyValue(String s) {
        String l = s.toLowerCase(Locale.ROOT);
        return l.contains("pass") || l.contains("pwd") || l.contains("secret") || l.contains("token") || l.contains("key")
                || l.contains("credential") || l.contains("authorization");
    }

    private static String maskValue(java.util.regex.MatchResult m) {
        String v = m.group(3);
        String masked = v.startsWith("\"") ? "\"" + MASK + "\"" : v.startsWith("'") ? "'" + MASK + "'" : MASK;
        return Matcher.quoteReplacement(m.group(1) + m.group(2) + masked);
    }

    /** Masks the user-info password (or, for web URLs, the whole user-info) of every {@code scheme://} in {@code s}. */
    private static String urls(String s) {
        StringBuilder out = new StringBuilder(s.length());
        Matcher m = SCHEME.matcher(s);
        int copied = 0;
        while (m.find()) {
            if (m.start() < copied) {
                continue;
            }
            int from = m.end();
            int end = from;
            while (end < s.length() && !Character.isWhitespace(s.charAt(end)) && s.charAt(end) != '"' && s.charAt(end) != '\'') {
                end++;
            }
            String rest = s.substring(from, end);
            int colon = firstOf(rest, ":");
            int delim = firstOf(rest, "/?#@");
            int at;
            boolean withPassword = colon < delim && rest.lastIndexOf('@') > colon && !portFollows(rest, colon);
            if (withPassword) {
                at = rest.lastIndexOf('@'); // the password may itself hold '/', '@', '?' (then the URL does not even parse)
            } else {
                at = rest.indexOf('@');
                if (at >= 0 && firstOf(rest, "/?#") < at) {
                    at = -1; // an '@' in the path or the query, not a user-info
                }
            }
            out.append(s, copied, from);
            if (at <= 0) {
                copied = from;
                continue;
            }
            String userInfo = rest.substring(0, at);
            String scheme = m.group(1).toLowerCase(Locale.ROOT);
            if (withPassword) {
                out.append(userInfo, 0, userInfo.indexOf(':')).append(':').append(MASK);
            } else if (scheme.startsWith("http") || scheme.startsWith("ws")) {
                out.append(MASK);
            } else {
                out.append(userInfo);
            }
            copied = from + at;
        }
        out.append(s, copied, s.length());
        return out.toString();
    }

    /** True when the ':' at {@code colon} starts a port ({@code host:8443/...}), not a password. */
    private static boolean portFollows(String rest, int colon) {
        int i = colon + 1;
        while (i < rest.length() && Character.isDigit(rest.charAt(i))) {
            i++;
        }
        return i > colon + 1 && (i == rest.length() || "/?#".indexOf(rest.charAt(i)) >= 0);
    }

    private static int firstOf(String s, String chars) {
        for (int i = 0; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return s.length();
    }
}
