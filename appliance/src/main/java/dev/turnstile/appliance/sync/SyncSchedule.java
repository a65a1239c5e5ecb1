package dev.turnstile.appliance.sync;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.Optional;

/**
 * When the next scheduled sync is due: every {@code sync.schedule.interval} after the last one, or
 * at the next match of {@code sync.schedule.cron} (five-field UNIX cron, parsed and evaluated by
 * cron-utils) in {@code sync.schedule.timezone}. Pure: the caller passes the time.
 */
public final class SyncSchedule {
    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private final SyncConfig.Schedule config;
    private final ExecutionTime cron;

    public SyncSchedule(SyncConfig.Schedule config) {
        this.config = config;
        this.cron = config.cronExpression() == null ? null : ExecutionTime.forCron(parse(config.cronExpression()));
    }

    private static Cron parse(String expression) {
        Cron c = PARSER.parse(expression.trim());
        c.validate();
        return c;
    }

    /** {@code null} when {@code expression} is a valid UNIX cron expression, else what is wrong. */
    public static String checkCron(String expression) {
        try {
            parse(expression);
            return null;
        } catch (RuntimeException e) {
            return e.getMessage();
        }
    }

    /** The next scheduled sync after {@code nowMs}, or -1 when the schedule is off. */
    public long nextAfter(long nowMs) {
        if (!config.enabled()) {
            return -1;
        }
        if (cron == null) {
            return nowMs + config.intervalMs();
        }
        Optional<ZonedDateTime> next = cron.nextExecution(ZonedDateTime.ofInstant(Instant.ofEpochMilli(nowMs), config.zone()));
        return next.map(z -> z.toInstant().toEpochMilli()).orElse(-1L);
    }

    /** For logs: "every 1h" or "cron '0 * * * *' (UTC)". */
    public String describe() {
        if (!config.enabled()) {
            return "off (syncs at start, on demand and on urgent events only)";
        }
        return cron == null ? "every " + dev.turnstile.appliance.config.ConfigReader.formatMs(config.intervalMs())
                : "cron '" + config.cronExpression() + "' (" + config.zone() + ")";
    }
}
