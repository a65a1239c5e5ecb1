/* ts_internal.h - declarations shared by the library's files. Not installed. */
#ifndef TS_INTERNAL_H
#define TS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_proto.h"
#include "turnstile.h"

#if defined(__GNUC__)
#define TS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TS_PRINTF(a, b)
#endif

/* Sets this thread's last error and returns status. */
ts_status ts_set_error(ts_status status, int code, uint32_t retry_after_ms, const char *fmt, ...) TS_PRINTF(4, 5);
void ts_clear_error(void);
/* Name of a code, or "code N" written into buf. */
const char *ts_code_label(int code, char *buf, size_t size);
int64_t ts_unix_ms(void);

struct ts_token_store {
    ts_token_store_ops ops;
    void *state;
};

/* A token with its strings owned (used by the stores). */
typedef struct ts_token_rec {
    ts_token t; /* strings point into the fields below */
    char *product, *license_key, *entitlement_id, *server, *hw_id;
} ts_token_rec;

int ts_token_rec_set(ts_token_rec *r, const ts_token *t);
void ts_token_rec_free(ts_token_rec *r);

/* strdup that accepts NULL (gives "") */
char *ts_strdup(const char *s);

#endif
