package dev.turnstile.appliance.systemd;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One unbound {@code AF_UNIX}/{@code SOCK_DGRAM} socket on a private one-thread epoll loop; each
 * notification is a {@code sendto(2)} to the notify socket. The socket is not connected, so a
 * service manager that re-creates its socket (daemon-reexec) still gets later datagrams, as with
 * libsystemd, which opens a socket per call.
 *
 * <p>Sends from any thread are queued on the loop in call order, so {@code STOPPING=1} followed by
 * {@link #close()} still delivers {@code STOPPING=1}.
 */
final class EpollNotifyTransport implements SystemdNotifier.Transport {

    private static final Logger LOG = LoggerFactory.getLogger(EpollNotifyTransport.class);

    private final EventLoopGroup group;
    private final ChannelFuture registration;
    private final DomainSocketAddress target;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Log the first failure of a streak loudly, the rest quietly (watchdog pings come often). */
    private final AtomicBoolean failing = new AtomicBoolean();

    private EpollNotifyTransport(EventLoopGroup group, ChannelFuture registration, DomainSocketAddress target) {
        this.group = group;
        this.registration = registration;
        this.target = target;
    }

    /**
     * Opens the sending socket for {@code notifySocket} ({@code /run/systemd/notify} or
     * {@code @abstract-name}). Does not block: registration completes on the private loop.
     *
     * @throws UnsatisfiedLinkError or another error when the epoll transport is unavailable
     */
    @SuppressWarnings("deprecation")
    static EpollNotifyTransport open(String notifySocket) {
        Epoll.ensureAvailability();
        DomainSocketAddress target = address(notifySocket);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("turnstile-sd-notify", true), EpollIoHandler.newFactory());
        try {
            ChannelFuture registration = new Bootstrap()
                    .group(group)
                    .channel(EpollDomainDatagramChannel.class)
                    // An unbound, unconnected datagram socket is "active" as soon as it is registered,
                    // otherwise Netty refuses writes with NotYetConnectedException. Deprecated in 4.2
                    // without a replacement for domain datagram channels; binding to a made-up
                    // address instead would be the fallback.
                    .option(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, true)
                    .handler(new ChannelInboundHandlerAdapter())
                    .register();
            return new EpollNotifyTransport(group, registration, target);
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    /** {@code @name} is the abstract namespace, written with a leading NUL in {@code sockaddr_un}. */
    static DomainSocketAddress address(String notifySocket) {
        if (notifySocket.startsWith("@")) {
            return new DomainSocketAddress("\0" + notifySocket.substring(1));
        }
        if (!notifySocket.startsWith("/")) {
            throw new IllegalArgumentException("NOTIFY_SOCKET must be an absolute path or start with '@': " + notifySocket);
        }
        return new DomainSocketAddress(notifySocket);
    }

    @Override
    public CompletableFuture<Void> send(String datagram) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        if (closed.get()) {
            result.completeExceptionally(new IllegalStateException("notifier closed"));
            return result;
        }
        registration.addListener(reg -> {
            if (!reg.isSuccess()) {
                failed(datagram, reg.cause(), result);
                return;
            }
            Channel ch = registration.channel();
            byte[] bytes = datagram.getBytes(StandardCharsets.UTF_8);
            ByteBuf buf = ch.alloc().directBuffer(bytes.length).writeBytes(bytes);
            ch.writeAndFlush(new DomainDatagramPacket(buf, target)).addListener(w -> {
                if (w.isSuccess()) {
                    if (failing.compareAndSet(true, false)) {
                        LOG.info("systemd: notifications to {} go through again", target.path());
                    }
                    result.complete(null);
                } else {
                    failed(datagram, w.cause(), result);
                }
            });
        });
        return result;
    }

    private void failed(String datagram, Throwable cause, CompletableFuture<Void> result) {
        if (failing.compareAndSet(false, true)) {
            LOG.warn("systemd: cannot send '{}' to NOTIFY_SOCKET: {}", datagram.replace('\n', ' '), cause.toString());
        } else {
            LOG.debug("systemd: cannot send '{}': {}", datagram.replace('\n', ' '), cause.toString());
        }
        result.completeExceptionally(cause);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // Queued behind the sends already submitted, so they leave first.
        registration.addListener(reg -> {
            registration.channel().close().addListener(c ->
                    group.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        });
    }
}
