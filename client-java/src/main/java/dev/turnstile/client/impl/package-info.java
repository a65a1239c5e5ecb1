/**
 * Implementation of the Java client SDK. Not API: applications use the interfaces and classes of
 * {@code dev.turnstile.client}; types here may change in any release.
 *
 * <p>Threads of one client ({@link dev.turnstile.client.impl.TurnstileClientImpl}):
 * <ul>
 *   <li>the <em>client thread</em> (a single-threaded scheduler) owns all protocol state: the
 *       current connection, the pending requests, the held leases, the failover list, the
 *       timers. Everything else hands it work with {@code execute}. It writes frames (a socket
 *       write blocks only while the kernel's send buffer is full, and the reader's watchdog
 *       closes a connection that stops answering, which unblocks it) and calls the token manager
 *       and the invalidation handler;</li>
 *   <li>one <em>reader thread</em> per connection ({@link dev.turnstile.client.impl.Connection}):
 *       blocking reads, frame assembly and decoding, then hand-off to the client thread; it is
 *       also the watchdog that declares a silent connection dead;</li>
 *   <li>a <em>connector thread</em> that runs connection attempts (TCP connect, TLS, preamble,
 *       HELLO/WELCOME), which block for up to the connect timeout, so that the client thread
 *       never does;</li>
 *   <li>a <em>callback thread</em> for listener calls and for completing the futures the
 *       application gets, so that application code never runs on (and never stalls) the client
 *       thread. Blocking API calls wait on internal futures completed by the client thread, which
 *       is why they may be called from a callback without deadlock.</li>
 * </ul>
 */
package dev.turnstile.client.impl;
