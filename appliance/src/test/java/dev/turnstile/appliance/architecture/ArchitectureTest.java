package dev.turnstile.appliance.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.vertx.core.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The appliance's architecture rules (appliance/ARCHITECTURE.md, "What may import what"), checked on the compiled
 * classes of {@code src/main}: a rule broken by a new import fails the build and names the offending dependency.
 */
class ArchitectureTest {
    private static final String ROOT = "dev.turnstile.appliance";
    private static JavaClasses appliance;

    @BeforeAll
    static void importClasses() {
        appliance = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                // the appliance's own classes are a directory (target/classes); scanning every jar on the test
                // classpath for the package took half a minute of the quick lane
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
                .importPackages(ROOT);
        // a rule over no classes passes whatever it says: make sure the appliance was found
        assertTrue(appliance.contain(ROOT + ".Appliance") && appliance.contain(ROOT + ".seat.SeatLedger"),
                "the appliance's classes were not imported");
    }

    @Test
    @DisplayName("GIVEN the appliance's packages WHEN their imports are followed THEN no package reaches itself again")
    void the_appliance_packages_form_no_import_cycle() {
        slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(appliance);
    }

    @Test
    @DisplayName("the seat core imports no I/O: no Vert.x, java.io/nio, java.net, JDBC, Netty, JGroups or Postgres")
    void the_seat_core_imports_no_io() {
        noClasses().that().resideInAPackage(ROOT + ".seat..")
                .should().dependOnClassesThat().resideInAnyPackage("io.vertx..", "java.io..", "java.nio..",
                        "java.net..", "java.sql..", "javax.sql..", "io.netty..", "org.jgroups..", "org.postgresql..")
                .check(appliance);
    }

    @Test
    @DisplayName("nothing below the composition root imports the root package (Appliance, Main, Configuration)")
    void nothing_below_the_root_imports_the_root() {
        noClasses().that().resideInAPackage(ROOT + ".*..")
                .should().dependOnClassesThat().resideInAPackage(ROOT)
                .check(appliance);
    }

    @Test
    @DisplayName("the seat authority port depends only on the seat core, the protocol, the JDK and Vert.x's Future")
    void the_seat_authority_port_depends_only_on_seat_protocol_and_future() {
        classes().that().resideInAPackage(ROOT + ".authority..")
                .should().onlyDependOnClassesThat(resideInAnyPackage(ROOT + ".authority..", ROOT + ".seat..",
                        "dev.turnstile.protocol..", "java..").or(belongToAnyOf(Future.class)))
                .check(appliance);
    }

    @Test
    @DisplayName("the lifecycle package, which every component imports, imports nothing of the appliance")
    void the_lifecycle_package_imports_nothing_of_the_appliance() {
        noClasses().that().resideInAPackage(ROOT + ".lifecycle..")
                .should().dependOnClassesThat(resideInAPackage(ROOT + "..").and(not(resideInAPackage(ROOT + ".lifecycle.."))))
                .check(appliance);
    }
}
