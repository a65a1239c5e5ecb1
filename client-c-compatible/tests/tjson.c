/* tjson.c - see tjson.h. */
#include "tjson.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct p {
    const char *s;
    char *err;
    size_t errsize;
    int depth;
} p_t;

static void ws(p_t *p) {
    while (*p->s == ' ' || *p->s == '\n' || *p->s == '\r' || *p->s == '\t') p->s++;
}

static int bad(p_t *p, const char *what) {
    snprintf(p->err, p->errsize, "JSON: %s near \"%.20s\"", what, p->s);
    return -1;
}

static int parse_value(p_t *p, tj *v);
static void tj_free_inner(tj *v);

static int parse_string(p_t *p, char **out, size_t *outlen) {
    size_t cap = 16, n = 0;
    char *b;
    if (*p->s != '"') return bad(p, "expected a string");
    p->s++;
    b = (char *)malloc(cap);
    if (!b) return bad(p, "no memory");
    for (;;) {
        char c = *p->s++;
        if (c == '\0') {
            free(b);
            return bad(p, "unterminated string");
        }
        if (c == '"') break;
        if (c == '\\') {
            char e = *p->s++;
            switch (e) {
            case '"': c = '"'; break;
            case '\\': c = '\\'; break;
            case '/': c = '/'; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned v = 0;
                int i;
                for (i = 0; i < 4; i++) {
                    char h = *p->s++;
                    v <<= 4;
                    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                    else {
                        free(b);
                        return bad(p, "bad \\u escape");
                    }
                }
                if (v > 0x7F) {
                    free(b);
                    return bad(p, "only \\u00XX escapes are supported");
                }
                c = (char)v;
                break;
            }
            default:
                free(b);
                return bad(p, "bad escape");
            }
        }
        if (n + 2 > cap) {
            char *nb;
            cap *= 2;
            nb = (char *)realloc(b, cap);
            if (!nb) {
                free(b);
                return bad(p, "no memory");
            }
            b = nb;
        }
        b[n++] = c;
    }
    b[n] = '\0';
    *out = b;
    *outlen = n;
    return 0;
}

static int push(tj *v, tj *item, char *key) {
    tj *ni = (tj *)realloc(v->items, (v->n + 1) * sizeof *ni);
    if (!ni) return -1;
    v->items = ni;
    if (v->type == TJ_OBJ) {
        char **nk = (char **)realloc(v->keys, (v->n + 1) * sizeof *nk);
        if (!nk) return -1;
        v->keys = nk;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = *item;
    return 0;
}

static int parse_value(p_t *p, tj *v) {
    memset(v, 0, sizeof *v);
    ws(p);
    if (++p->depth > 16) return bad(p, "too deep");
    if (*p->s == '{' || *p->s == '[') {
        int obj = *p->s == '{';
        char close = obj ? '}' : ']';
        v->type = obj ? TJ_OBJ : TJ_ARR;
        p->s++;
        ws(p);
        if (*p->s == close) {
            p->s++;
            p->depth--;
            return 0;
        }
        for (;;) {
            tj item;
            char *key = NULL;
            size_t kl;
            ws(p);
            if (obj) {
                if (parse_string(p, &key, &kl)) return -1;
                ws(p);
                if (*p->s != ':') {
                    free(key);
                    return bad(p, "expected ':'");
                }
                p->s++;
            }
            if (parse_value(p, &item)) {
                free(key);
                tj_free_inner(&item);
                return -1;
            }
            if (push(v, &item, key)) {
                free(key);
                tj_free_inner(&item);
                return bad(p, "no memory");
            }
            ws(p);
            if (*p->s == ',') {
                p->s++;
                continue;
            }
            if (*p->s == close) {
                p->s++;
                break;
            }
            return bad(p, "expected ',' or end");
        }
    } else if (*p->s == '"') {
        v->type = TJ_STR;
        if (parse_string(p, &v->str, &v->len)) return -1;
    } else if (isdigit((unsigned char)*p->s)) {
        char *end;
        v->type = TJ_NUM;
        v->num = strtoull(p->s, &end, 10);
        p->s = end;
    } else if (strncmp(p->s, "true", 4) == 0) {
        v->type = TJ_BOOL;
        v->b = 1;
        p->s += 4;
    } else if (strncmp(p->s, "false", 5) == 0) {
        v->type = TJ_BOOL;
        p->s += 5;
    } else if (strncmp(p->s, "null", 4) == 0) {
        v->type = TJ_NULL;
        p->s += 4;
    } else {
        return bad(p, "unexpected character");
    }
    p->depth--;
    return 0;
}

static void tj_free_inner(tj *v) {
    size_t i;
    for (i = 0; i < v->n; i++) {
        tj_free_inner(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

void tj_free(tj *v) {
    if (!v) return;
    tj_free_inner(v);
    free(v);
}

tj *tj_parse(const char *text, char *err, size_t errsize) {
    p_t p;
    tj *v = (tj *)calloc(1, sizeof *v);
    p.s = text;
    p.err = err;
    p.errsize = errsize;
    p.depth = 0;
    if (!v) return NULL;
    if (parse_value(&p, v) != 0) {
        tj_free(v);
        return NULL;
    }
    ws(&p);
    if (*p.s) {
        bad(&p, "trailing characters");
        tj_free(v);
        return NULL;
    }
    return v;
}

const tj *tj_get(const tj *obj, const char *key) {
    size_t i;
    if (!obj || obj->type != TJ_OBJ) return NULL;
    for (i = 0; i < obj->n; i++) {
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    }
    return NULL;
}

char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) {
        fclose(f);
        return NULL;
    }
    b = (char *)malloc((size_t)n + 1);
    if (!b) {
        fclose(f);
        return NULL;
    }
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    b[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return b;
}

static int hv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

uint8_t *hex_decode(const char *text, size_t *len) {
    size_t n = strlen(text), o = 0;
    uint8_t *b = (uint8_t *)malloc(n / 2 + 1);
    int hi = -1;
    if (!b) return NULL;
    for (; *text; text++) {
        int v;
        if (isspace((unsigned char)*text)) continue;
        v = hv((unsigned char)*text);
        if (v < 0) {
            free(b);
            return NULL;
        }
        if (hi < 0) {
            hi = v;
        } else {
            b[o++] = (uint8_t)(hi * 16 + v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        free(b);
        return NULL;
    }
    *len = o;
    return b;
}

uint64_t tj_get_uint(const tj *obj, const char *key, uint64_t dflt) {
    const tj *v = tj_get(obj, key);
    if (!v) return dflt;
    return v->type == TJ_NUM ? v->num : UINT64_MAX;
}
