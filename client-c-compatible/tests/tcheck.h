/* tcheck.h - a tiny test harness: tests named as sentences, GIVEN/WHEN/THEN in the bodies,
 * one line per test and a closing "N passed, N failed". Test code only. */
#ifndef TCHECK_H
#define TCHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tc_passed, tc_failed, tc_current_failed;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("    check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            tc_current_failed = 1;                                              \
        }                                                                       \
    } while (0)

#define CHECK_MSG(cond, ...)                                                    \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("    check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            printf(__VA_ARGS__);                                                \
            printf("\n");                                                       \
            tc_current_failed = 1;                                              \
        }                                                                       \
    } while (0)

/* A check whose failure makes the rest of the test meaningless. */
#define REQUIRE(cond)                                                           \
    do {                                                                        \
        if (!(cond)) {                                                          \
            printf("    required check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            tc_current_failed = 1;                                              \
            return;                                                             \
        }                                                                       \
    } while (0)

#define RUN(fn)                                                  \
    do {                                                         \
        tc_current_failed = 0;                                   \
        printf("...  %s\n", #fn);                                \
        fflush(stdout);                                          \
        fn();                                                    \
        if (tc_current_failed) {                                 \
            tc_failed++;                                         \
            printf("FAIL %s\n", #fn);                            \
        } else {                                                 \
            tc_passed++;                                         \
            printf("ok   %s\n", #fn);                            \
        }                                                        \
        fflush(stdout);                                          \
    } while (0)

#define TC_SUMMARY(label)                                                  \
    (printf("%s: %d passed, %d failed\n", label, tc_passed, tc_failed), tc_failed ? 1 : 0)

#endif
