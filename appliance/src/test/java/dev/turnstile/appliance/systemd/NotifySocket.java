package dev.turnstile.appliance.systemd;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The service manager's end of sd_notify, for tests: an {@code AF_UNIX}/{@code SOCK_DGRAM}
 * socket (a file, or abstract when the name starts with '@') that keeps every datagram in arrival
 * order. Thread-safe.
 */
final class NotifySocket implements AutoCloseable {

    /** One datagram and when it arrived ({@link System#nanoTime()}). */
    record Datagram(String text, long nanos) {
        boolean has(String line) {
            return text.lines().anyMatch(line::equals);
        }

        boolean hasPrefix(String prefix) {
            return text.lines().anyMatch(l -> l.startsWith(prefix));
        }
    }

    private final EventLoopGroup group;
    private final Channel channel;
    private final String name;
    private final Path file;
    private final List<Datagram> received = new ArrayList<>();

    private NotifySocket(String name, Path file) throws InterruptedException {
        this.name = name;
        this.file = file;
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("test-notify-socket", true),
                EpollIoHandler.newFactory());
        String address = name.startsWith("@") ? "\0" + name.substring(1) : name;
        this.channel = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
                .handler(new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket p) {
                        add(new Datagram(p.content().toString(StandardCharsets.UTF_8), System.nanoTime()));
                    }
                })
                .bind(new DomainSocketAddress(address)).sync().channel();
    }

    /** Binds {@code dir/notify.sock}. */
    static NotifySocket inDirectory(Path dir) throws InterruptedException {
        Path f = dir.resolve("notify.sock");
        return new NotifySocket(f.toString(), f);
    }

    /** Binds an abstract socket with a unique name. */
    static NotifySocket abstractNamespace() throws InterruptedException {
        return new NotifySocket("@turnstile-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime(), null);
    }

    /** What to put in NOTIFY_SOCKET. */
    String name() {
        return name;
    }

    private synchronized void add(Datagram d) {
        received.add(d);
        notifyAll();
    }

    synchronized List<Datagram> all() {
        return List.copyOf(received);
    }

    /**
     * Waits until a datagram at index {@code from} or later matches, up to {@code timeout}; returns
     * its index, or -1.
     */
    synchronized int awaitIndex(int from, Predicate<Datagram> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int i = Math.max(0, from);
        while (true) {
            for (; i < received.size(); i++) {
                if (match.test(received.get(i))) {
                    return i;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return -1;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
    }

    Optional<Datagram> await(Predicate<Datagram> match, Duration timeout) throws InterruptedException {
        int i = awaitIndex(0, match, timeout);
        return i < 0 ? Optional.empty() : Optional.of(all().get(i));
    }

    /** Datagrams in {@code (from, to)}, both exclusive, that match. */
    synchronized long countBetween(int from, int to, Predicate<Datagram> match) {
        return received.subList(from + 1, to).stream().filter(match).count();
    }

    @Override
    public void close() throws Exception {
        channel.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }
}
