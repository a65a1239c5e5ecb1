package dev.turnstile.appliance.triad;

import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.TCPPING;

/**
 * TCPPING whose hosts change at run time ({@code triad.discovery_dir}: a member with raft port 0 publishes what it
 * bound; {@link TriadNode} adds it). JGroups allows a transport on port 0 only under a dynamic discovery protocol;
 * this one is: a joiner pings every published member, and each learns the joiner's physical address from that
 * request, which static TCPPING's {@code send_cache_on_join} would otherwise provide.
 */
public final class DirectoryPing extends TCPPING {
    public DirectoryPing() {
        this.id = ClassConfigurator.getProtocolId(TCPPING.class); // TCPPING's headers, as CatchUpRaft does for RAFT
    }

    @Override
    public boolean isDynamic() {
        return true;
    }
}
