/**
 * How components start and stop: {@link dev.turnstile.appliance.lifecycle.Lifecycle} (futures, dependencies
 * checked before start, in the manner of Eclipse Hono), {@link dev.turnstile.appliance.lifecycle.Components}
 * (start in dependency order, stop in reverse), {@link dev.turnstile.appliance.lifecycle.VerticleLifecycle} (a
 * verticle wrapped), the appliance's {@link dev.turnstile.appliance.lifecycle.ServingState} and
 * {@link dev.turnstile.appliance.lifecycle.ListenFailure}. Depends on Vert.x core and nothing of the appliance,
 * so every package may import it.
 */
package dev.turnstile.appliance.lifecycle;
