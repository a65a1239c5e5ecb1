/* tjson.h - a very small JSON reader for the test vectors (objects, arrays, strings,
 * unsigned integers, true/false/null). Test code only. */
#ifndef TJSON_H
#define TJSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ } tj_type;

typedef struct tj {
    tj_type type;
    int b;
    uint64_t num;
    char *str;    /* TJ_STR: NUL-terminated (no NUL inside in the vectors) */
    size_t len;   /* TJ_STR: bytes */
    size_t n;     /* TJ_ARR / TJ_OBJ: children */
    struct tj *items;
    char **keys;  /* TJ_OBJ */
} tj;

/* Parses text; returns NULL with a message in err on failure. */
tj *tj_parse(const char *text, char *err, size_t errsize);
void tj_free(tj *v);
/* Member of an object, NULL when absent. */
const tj *tj_get(const tj *obj, const char *key);
/* An unsigned number member, or dflt when the key is absent (e.g. a vector's "version": absent
 * means 1). A member that is present but not a number gives UINT64_MAX. */
uint64_t tj_get_uint(const tj *obj, const char *key, uint64_t dflt);

/* Reads a whole file (NUL-terminated); NULL on failure. */
char *read_file(const char *path, size_t *len);
/* Decodes hex (whitespace ignored); returns bytes (malloc) or NULL. */
uint8_t *hex_decode(const char *text, size_t *len);

#endif
