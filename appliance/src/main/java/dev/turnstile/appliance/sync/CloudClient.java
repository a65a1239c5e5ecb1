package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.license.CanonicalJson;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;

/**
 * The one outbound call of the appliance: {@code POST {cloud_server_url}/v1/sync/entitlements}
 * with {@code {"last_sync_token": ..., "local_server_id": ...}}, a bearer token or a client
 * certificate, through vertx-web-client (non-blocking). Failures come back as {@link SyncFailure}s
 * of the right {@link SyncFailure.Kind}; a 2xx answer comes back parsed strictly (duplicate keys
 * and non-integer numbers refused), since its license is checked byte for byte.
 */
final class CloudClient {
    /** The largest answer accepted (a plant has tens of entitlements; a megabyte is generous). */
    static final int MAX_ANSWER_BYTES = 4 * 1024 * 1024;

    private final SyncConfig config;
    private final WebClient client;

    CloudClient(Vertx vertx, SyncConfig config) {
        this.config = config;
        WebClientOptions o = new WebClientOptions()
                .setUserAgent("turnstile-appliance/0.1 (" + config.localServerId() + ")")
                .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, config.breaker().callTimeoutMs()))
                .setKeepAlive(true)
                .setFollowRedirects(false);
        SyncConfig.Authentication a = config.authentication();
        if (a.method() == SyncConfig.Authentication.Method.MTLS) {
            o.setKeyCertOptions(new PemKeyCertOptions().setCertPath(a.certPath()).setKeyPath(a.keyPath()));
        }
        if (a.caPath() != null && !a.caPath().isBlank()) {
            o.setTrustOptions(new PemTrustOptions().addCertPath(a.caPath()));
        }
        this.client = WebClient.create(vertx, o);
    }

    /** One exchange. Never blocks; completes on the caller's context. */
    Future<JsonObject> exchange(String lastToken) {
        JsonObject body = new JsonObject().put("last_sync_token", lastToken).put("local_server_id", config.localServerId());
        var request = client.postAbs(config.endpoint())
                .timeout(config.breaker().callTimeoutMs())
                .putHeader("Accept", "application/json");
        if (config.authentication().method() == SyncConfig.Authentication.Method.BEARER_TOKEN) {
            request.bearerTokenAuthentication(config.authentication().token());
        }
        return request.sendJsonObject(body).transform(ar -> {
            if (ar.failed()) {
                return Future.failedFuture(classify(ar.cause()));
            }
            return answer(ar.result());
        });
    }

    private static Future<JsonObject> answer(HttpResponse<Buffer> r) {
        int s = r.statusCode();
        String hint = r.bodyAsString() == null ? "" : abbreviate(r.bodyAsString());
        if (s == 401 || s == 403) {
            return Future.failedFuture(new SyncFailure(SyncFailure.Kind.AUTH, "the cloud refused the appliance's "
                    + "credentials: HTTP " + s + " " + hint));
        }
        if (s >= 500) {
            return Future.failedFuture(new SyncFailure(SyncFailure.Kind.SERVER_ERROR, "the cloud answered HTTP " + s + " " + hint));
        }
        if (s < 200 || s >= 300) {
            return Future.failedFuture(new SyncFailure(SyncFailure.Kind.CLIENT_ERROR, "the cloud answered HTTP " + s + " " + hint));
        }
        Buffer b = r.body();
        if (b == null || b.length() == 0) {
            return Future.failedFuture(new SyncFailure(SyncFailure.Kind.MALFORMED, "the cloud answered HTTP " + s + " with no body"));
        }
        if (b.length() > MAX_ANSWER_BYTES) {
            return Future.failedFuture(new SyncFailure(SyncFailure.Kind.MALFORMED, "the cloud's answer has " + b.length()
                    + " bytes, more than " + MAX_ANSWER_BYTES));
        }
        try {
            return Future.succeededFuture(CanonicalJson.parseObject(b.toString()));
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(new SyncFailure(SyncFailure.Kind.MALFORMED, "the cloud's answer is not a JSON object ("
                    + e.getMessage() + "): " + abbreviate(b.toString())));
        }
    }

    static SyncFailure classify(Throwable t) {
        if (t instanceof SyncFailure f) {
            return f;
        }
        String m = String.valueOf(t.getMessage());
        if (t instanceof TimeoutException || t instanceof io.netty.channel.ConnectTimeoutException
                || t.getClass().getSimpleName().contains("Timeout") || m.contains("timeout period")) {
            return new SyncFailure(SyncFailure.Kind.TIMEOUT, "no answer from the cloud in time: " + m, null, t);
        }
        if (t instanceof ConnectException || t instanceof UnknownHostException) {
            return new SyncFailure(SyncFailure.Kind.NETWORK, "cannot reach the cloud: " + t, null, t);
        }
        return new SyncFailure(SyncFailure.Kind.NETWORK, "the exchange with the cloud failed: " + t, null, t);
    }

    private static String abbreviate(String s) {
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() > 200 ? "(" + t.substring(0, 200) + "...)" : t.isEmpty() ? "" : "(" + t + ")";
    }

    void close() {
        client.close();
    }
}
