/*
 * ts_store.c - token stores: the wrapper around a function table, the file store (default)
 * and the memory store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ts_internal.h"

char *ts_strdup(const char *s) {
    size_t n;
    char *d;
    if (!s) s = "";
    n = strlen(s);
    d = (char *)malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

int ts_token_rec_set(ts_token_rec *r, const ts_token *t) {
    ts_token_rec n;
    memset(&n, 0, sizeof n);
    n.t = *t;
    n.product = ts_strdup(t->product);
    n.license_key = ts_strdup(t->license_key);
    n.entitlement_id = ts_strdup(t->entitlement_id);
    n.server = ts_strdup(t->server);
    n.hw_id = ts_strdup(t->hw_id);
    if (!n.product || !n.license_key || !n.entitlement_id || !n.server || !n.hw_id) {
        ts_token_rec_free(&n);
        return -1;
    }
    n.t.product = n.product;
    n.t.license_key = n.license_key;
    n.t.entitlement_id = n.entitlement_id;
    n.t.server = n.server;
    n.t.hw_id = n.hw_id;
    ts_token_rec_free(r);
    *r = n;
    return 0;
}

void ts_token_rec_free(ts_token_rec *r) {
    free(r->product);
    free(r->license_key);
    free(r->entitlement_id);
    free(r->server);
    free(r->hw_id);
    memset(r, 0, sizeof *r);
}

/* ---- The wrapper -------------------------------------------------------------------- */

ts_status ts_token_store_create(ts_token_store **out, const ts_token_store_ops *ops, void *state) {
    ts_token_store *s;
    if (out) *out = NULL;
    if (!out || !ops || !ops->put || !ops->remove || !ops->list) {
        return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "a token store needs put, remove and list");
    }
    s = (ts_token_store *)calloc(1, sizeof *s);
    if (!s) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a token store");
    s->ops = *ops;
    s->state = state;
    *out = s;
    return TS_OK;
}

void ts_token_store_destroy(ts_token_store *store) {
    if (!store) return;
    if (store->ops.destroy) store->ops.destroy(store->state);
    free(store);
}

ts_status ts_token_store_put(ts_token_store *store, const ts_token *token) {
    if (!store || !token) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "store and token are required");
    return store->ops.put(store->state, token);
}

ts_status ts_token_store_remove_safely_by_lease_id(ts_token_store *store, const ts_lease_id *lease_id) {
    if (!store || !lease_id) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "store and lease id are required");
    return store->ops.remove(store->state, lease_id);
}

ts_status ts_token_store_list(ts_token_store *store, ts_token_visit_fn visit, void *arg) {
    if (!store || !visit) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "store and visitor are required");
    return store->ops.list(store->state, visit, arg);
}

typedef struct find_ctx {
    const ts_lease_id *id;
    ts_token_visit_fn visit;
    void *arg;
    int found;
} find_ctx;

static int find_visit(const ts_token *t, void *arg) {
    find_ctx *f = (find_ctx *)arg;
    if (ts_lease_id_equal(&t->lease_id, f->id)) {
        f->found = 1;
        f->visit(t, f->arg);
        return 1;
    }
    return 0;
}

ts_status ts_token_store_find(ts_token_store *store, const ts_lease_id *lease_id, ts_token_visit_fn visit, void *arg) {
    find_ctx f;
    ts_status st;
    if (!store || !lease_id || !visit) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "arguments are required");
    f.id = lease_id;
    f.visit = visit;
    f.arg = arg;
    f.found = 0;
    st = store->ops.list(store->state, find_visit, &f);
    if (st != TS_OK) return st;
    if (!f.found) {
        char idt[TS_LEASE_ID_TEXT_LEN + 1];
        return ts_set_error(TS_ERR_NOT_FOUND, 0, 0, "no token for lease %s", ts_lease_id_format(lease_id, idt));
    }
    return TS_OK;
}

/* ---- Token lists (shared by both stores) -------------------------------------------- */

typedef struct tok_list {
    ts_token_rec *v;
    size_t n, cap;
} tok_list;

static void list_free(tok_list *l) {
    size_t i;
    for (i = 0; i < l->n; i++) ts_token_rec_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static long list_index(const tok_list *l, const ts_lease_id *id) {
    size_t i;
    for (i = 0; i < l->n; i++) {
        if (ts_lease_id_equal(&l->v[i].t.lease_id, id)) return (long)i;
    }
    return -1;
}

/* Inserts or replaces. 0 or -1 (no memory). */
static int list_put(tok_list *l, const ts_token *t) {
    long i = list_index(l, &t->lease_id);
    if (i >= 0) return ts_token_rec_set(&l->v[i], t);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        ts_token_rec *nv = (ts_token_rec *)realloc(l->v, cap * sizeof *nv);
        if (!nv) return -1;
        l->v = nv;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    if (ts_token_rec_set(&l->v[l->n], t)) return -1;
    l->n++;
    return 0;
}

/* 1 removed, 0 absent. */
static int list_remove(tok_list *l, const ts_lease_id *id) {
    long i = list_index(l, id);
    if (i < 0) return 0;
    ts_token_rec_free(&l->v[i]);
    l->v[i] = l->v[l->n - 1];
    l->n--;
    return 1;
}

/* ---- Memory store ------------------------------------------------------------------- */

typedef struct mem_store {
    pthread_mutex_t mu;
    tok_list list;
} mem_store;

static ts_status mem_put(void *state, const ts_token *t) {
    mem_store *m = (mem_store *)state;
    int rc;
    pthread_mutex_lock(&m->mu);
    rc = list_put(&m->list, t);
    pthread_mutex_unlock(&m->mu);
    return rc ? ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a token") : TS_OK;
}

static ts_status mem_remove(void *state, const ts_lease_id *id) {
    mem_store *m = (mem_store *)state;
    pthread_mutex_lock(&m->mu);
    list_remove(&m->list, id);
    pthread_mutex_unlock(&m->mu);
    return TS_OK;
}

static ts_status mem_list(void *state, ts_token_visit_fn visit, void *arg) {
    mem_store *m = (mem_store *)state;
    tok_list copy;
    size_t i;
    ts_status st = TS_OK;
    memset(&copy, 0, sizeof copy);
    /* Visit a copy, so that a visitor may call back into the store. */
    pthread_mutex_lock(&m->mu);
    for (i = 0; i < m->list.n; i++) {
        if (list_put(&copy, &m->list.v[i].t)) {
            st = ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory to list tokens");
            break;
        }
    }
    pthread_mutex_unlock(&m->mu);
    for (i = 0; st == TS_OK && i < copy.n; i++) {
        if (visit(&copy.v[i].t, arg)) break;
    }
    list_free(&copy);
    return st;
}

static void mem_destroy(void *state) {
    mem_store *m = (mem_store *)state;
    list_free(&m->list);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

ts_status ts_token_store_create_memory(ts_token_store **out) {
    static const ts_token_store_ops OPS = {mem_put, mem_remove, mem_list, mem_destroy};
    mem_store *m;
    ts_status st;
    if (out) *out = NULL;
    if (!out) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "out is required");
    m = (mem_store *)calloc(1, sizeof *m);
    if (!m) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a token store");
    pthread_mutex_init(&m->mu, NULL);
    st = ts_token_store_create(out, &OPS, m);
    if (st != TS_OK) mem_destroy(m);
    return st;
}

/* ---- File store --------------------------------------------------------------------- */

/* Version 2 of the file appends reclaim_secret (64 hex digits, "-" for none). Version 1 files
 * (11 fields) still load, without a secret; a version 1 reader (an older library) reads a version
 * 2 line's pid and ignores what follows it. The file is written with mode 0600. */
#define FILE_HEADER "# turnstile tokens v2: lease_id product license_key entitlement_id quantity enforcement server hw_id updated_at_ms remaining_ms pid reclaim_secret\n"
#define MAX_FILE_SIZE (64L * 1024 * 1024)

typedef struct file_store {
    pthread_mutex_t mu;
    char *path;
    char *lock_path;
    char *tmp_path;
} file_store;

static void put_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\\': fputs("\\\\", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Unescapes in place; returns the field start. */
static char *unescape(char *s) {
    char *r = s, *w = s;
    while (*r) {
        if (*r == '\\' && r[1]) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r;
            r++;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return s;
}

static int is_zero_secret(const uint8_t *s) {
    int i;
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) {
        if (s[i]) return 0;
    }
    return 1;
}

static int hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "-" = none (zero); else exactly 64 hex digits. 0, or -1 when malformed. */
static int parse_secret(const char *s, uint8_t out[TS_RECLAIM_SECRET_LEN]) {
    int i;
    memset(out, 0, TS_RECLAIM_SECRET_LEN);
    if (strcmp(s, "-") == 0) return 0;
    if (strlen(s) != 2 * TS_RECLAIM_SECRET_LEN) return -1;
    for (i = 0; i < TS_RECLAIM_SECRET_LEN; i++) {
        int h = hex_digit((unsigned char)s[2 * i]), l = hex_digit((unsigned char)s[2 * i + 1]);
        if (h < 0 || l < 0) {
            memset(out, 0, TS_RECLAIM_SECRET_LEN);
            return -1;
        }
        out[i] = (uint8_t)(h * 16 + l);
    }
    return 0;
}

/* Parses one line (11 fields: version 1, 12: version 2) into t (strings point into line). 0 or
 * -1 when malformed. */
static int parse_line(char *line, ts_token *t) {
    char *f[12];
    int n = 0;
    char *p = line;
    f[n++] = p;
    while (*p && n < 12) {
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
        p++;
    }
    if (n != 11 && n != 12) return -1;
    memset(t, 0, sizeof *t);
    if (ts_lease_id_parse(f[0], &t->lease_id) != TS_OK) return -1;
    t->product = unescape(f[1]);
    t->license_key = unescape(f[2]);
    t->entitlement_id = unescape(f[3]);
    t->quantity = (uint32_t)strtoul(f[4], NULL, 10);
    t->enforcement = (int)strtol(f[5], NULL, 10);
    t->server = unescape(f[6]);
    t->hw_id = unescape(f[7]);
    t->updated_at_ms = strtoll(f[8], NULL, 10);
    t->remaining_ms = (uint32_t)strtoul(f[9], NULL, 10);
    t->pid = strtoll(f[10], NULL, 10);
    if (n == 12 && parse_secret(f[11], t->reclaim_secret) != 0) return -1;
    return 0;
}

/* Loads the file into l (absent file = empty). */
static ts_status file_load(file_store *fs, tok_list *l) {
    FILE *f = fopen(fs->path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    if (!f) {
        if (errno == ENOENT) return TS_OK;
        return ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot read token file %s: %s", fs->path, strerror(errno));
    }
    while ((n = getline(&line, &cap, f)) > 0) {
        ts_token t;
        if (line[0] == '#') continue;
        if (line[n - 1] == '\n') line[n - 1] = '\0';
        if (parse_line(line, &t) != 0) continue; /* a damaged line is skipped, not fatal */
        if (list_put(l, &t)) {
            free(line);
            fclose(f);
            return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory to load tokens");
        }
    }
    free(line);
    fclose(f);
    return TS_OK;
}

/* Writes l to a temporary file and renames it over the store. */
static ts_status file_save(file_store *fs, const tok_list *l) {
    FILE *f;
    size_t i;
    int fd = open(fs->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot write %s: %s", fs->tmp_path, strerror(errno));
    (void)fchmod(fd, 0600); /* tokens carry reclaim secrets: owner only, even over an old file */
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot write %s: %s", fs->tmp_path, strerror(errno));
    }
    fputs(FILE_HEADER, f);
    for (i = 0; i < l->n; i++) {
        const ts_token *t = &l->v[i].t;
        char idt[TS_LEASE_ID_TEXT_LEN + 1];
        fprintf(f, "%s\t", ts_lease_id_format(&t->lease_id, idt));
        put_escaped(f, t->product);
        fputc('\t', f);
        put_escaped(f, t->license_key);
        fputc('\t', f);
        put_escaped(f, t->entitlement_id);
        fprintf(f, "\t%lu\t%d\t", (unsigned long)t->quantity, t->enforcement);
        put_escaped(f, t->server);
        fputc('\t', f);
        put_escaped(f, t->hw_id);
        fprintf(f, "\t%lld\t%lu\t%lld\t", (long long)t->updated_at_ms, (unsigned long)t->remaining_ms,
                (long long)t->pid);
        if (is_zero_secret(t->reclaim_secret)) {
            fputc('-', f);
        } else {
            static const char HEX[] = "0123456789abcdef";
            int k;
            for (k = 0; k < TS_RECLAIM_SECRET_LEN; k++) {
                fputc(HEX[t->reclaim_secret[k] >> 4], f);
                fputc(HEX[t->reclaim_secret[k] & 15], f);
            }
        }
        fputc('\n', f);
    }
    if (fflush(f) != 0 || ferror(f)) {
        fclose(f);
        unlink(fs->tmp_path);
        return ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot write %s: %s", fs->tmp_path, strerror(errno));
    }
    fclose(f);
    if (rename(fs->tmp_path, fs->path) != 0) {
        int e = errno;
        unlink(fs->tmp_path);
        return ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot replace %s: %s", fs->path, strerror(e));
    }
    return TS_OK;
}

/* Locks the store within the process (mutex) and across processes (flock). */
static int file_lock(file_store *fs) {
    int fd;
    pthread_mutex_lock(&fs->mu);
    fd = open(fs->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot open %s: %s", fs->lock_path, strerror(errno));
        pthread_mutex_unlock(&fs->mu);
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            ts_set_error(TS_ERR_SYSTEM, 0, 0, "cannot lock %s: %s", fs->lock_path, strerror(errno));
            close(fd);
            pthread_mutex_unlock(&fs->mu);
            return -1;
        }
    }
    return fd;
}

static void file_unlock(file_store *fs, int fd) {
    flock(fd, LOCK_UN);
    close(fd);
    pthread_mutex_unlock(&fs->mu);
}

static ts_status file_put(void *state, const ts_token *t) {
    file_store *fs = (file_store *)state;
    tok_list l;
    ts_status st;
    int fd = file_lock(fs);
    if (fd < 0) return TS_ERR_SYSTEM;
    memset(&l, 0, sizeof l);
    st = file_load(fs, &l);
    if (st == TS_OK) {
        st = list_put(&l, t) ? ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a token") : file_save(fs, &l);
    }
    list_free(&l);
    file_unlock(fs, fd);
    return st;
}

static ts_status file_remove(void *state, const ts_lease_id *id) {
    file_store *fs = (file_store *)state;
    tok_list l;
    ts_status st;
    int fd = file_lock(fs);
    if (fd < 0) return TS_ERR_SYSTEM;
    memset(&l, 0, sizeof l);
    st = file_load(fs, &l);
    if (st == TS_OK && list_remove(&l, id)) st = file_save(fs, &l);
    list_free(&l);
    file_unlock(fs, fd);
    return st;
}

static ts_status file_list(void *state, ts_token_visit_fn visit, void *arg) {
    file_store *fs = (file_store *)state;
    tok_list l;
    ts_status st;
    size_t i;
    int fd = file_lock(fs);
    if (fd < 0) return TS_ERR_SYSTEM;
    memset(&l, 0, sizeof l);
    st = file_load(fs, &l);
    file_unlock(fs, fd);
    for (i = 0; st == TS_OK && i < l.n; i++) {
        if (visit(&l.v[i].t, arg)) break;
    }
    list_free(&l);
    return st;
}

static void file_destroy(void *state) {
    file_store *fs = (file_store *)state;
    if (!fs) return;
    free(fs->path);
    free(fs->lock_path);
    free(fs->tmp_path);
    pthread_mutex_destroy(&fs->mu);
    free(fs);
}

static char *concat(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *r = (char *)malloc(na + nb + 1);
    if (r) {
        memcpy(r, a, na);
        memcpy(r + na, b, nb + 1);
    }
    return r;
}

/* mkdir -p with mode 0700 for the folders of a default path. */
static void make_parents(const char *path) {
    char buf[4096];
    size_t i, n = strlen(path);
    if (n >= sizeof buf) return;
    memcpy(buf, path, n + 1);
    for (i = 1; i < n; i++) {
        if (buf[i] == '/') {
            buf[i] = '\0';
            mkdir(buf, 0700);
            buf[i] = '/';
        }
    }
}

ts_status ts_token_store_create_file(ts_token_store **out, const char *path) {
    static const ts_token_store_ops OPS = {file_put, file_remove, file_list, file_destroy};
    file_store *fs;
    char *dflt = NULL;
    ts_status st;
    if (out) *out = NULL;
    if (!out) return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0, "out is required");
    if (!path || !*path) {
        const char *env = getenv("TURNSTILE_TOKEN_FILE");
        if (env && *env) {
            dflt = ts_strdup(env);
        } else if ((env = getenv("XDG_STATE_HOME")) && *env) {
            dflt = concat(env, "/turnstile/tokens");
        } else if ((env = getenv("HOME")) && *env) {
            dflt = concat(env, "/.local/state/turnstile/tokens");
        } else {
            return ts_set_error(TS_ERR_INVALID_ARGUMENT, 0, 0,
                                "no token file path: set TURNSTILE_TOKEN_FILE, XDG_STATE_HOME or HOME");
        }
        if (!dflt) return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory");
        make_parents(dflt);
        path = dflt;
    }
    fs = (file_store *)calloc(1, sizeof *fs);
    if (!fs) {
        free(dflt);
        return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a token store");
    }
    pthread_mutex_init(&fs->mu, NULL);
    fs->path = ts_strdup(path);
    fs->lock_path = concat(path, ".lock");
    fs->tmp_path = concat(path, ".tmp");
    free(dflt);
    if (!fs->path || !fs->lock_path || !fs->tmp_path) {
        file_destroy(fs);
        return ts_set_error(TS_ERR_NO_MEMORY, 0, 0, "no memory for a token store");
    }
    st = ts_token_store_create(out, &OPS, fs);
    if (st != TS_OK) file_destroy(fs);
    return st;
}
