package dev.turnstile.appliance.lifecycle;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Deployable;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * A verticle as a {@link Lifecycle}: deployed on {@link #start()}, undeployed on {@link #stop()}. The verticle keeps
 * its own context; the composition root sees only the lifecycle.
 */
public final class VerticleLifecycle<V extends Deployable> implements Lifecycle {
    private final Vertx vertx;
    private final String name;
    private final V verticle;
    private final DeploymentOptions options;
    private volatile String deploymentId;

    public VerticleLifecycle(Vertx vertx, String name, V verticle, DeploymentOptions options) {
        this.vertx = vertx;
        this.name = name;
        this.verticle = verticle;
        this.options = options;
    }

    public VerticleLifecycle(Vertx vertx, String name, V verticle) {
        this(vertx, name, verticle, new DeploymentOptions());
    }

    @Override
    public String name() {
        return name;
    }

    /** The wrapped verticle. */
    public V verticle() {
        return verticle;
    }

    @Override
    public Future<Void> start() {
        if (deploymentId != null) {
            return Future.failedFuture(new IllegalStateException(name + " is already deployed"));
        }
        return vertx.deployVerticle(verticle, options).map(id -> {
            deploymentId = id;
            return null;
        });
    }

    @Override
    public Future<Void> stop() {
        String id = deploymentId;
        deploymentId = null;
        return id == null ? Future.succeededFuture() : vertx.undeploy(id);
    }
}
