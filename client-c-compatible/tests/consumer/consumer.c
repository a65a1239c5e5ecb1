/* A program built against the installed library only (header, pkg-config, CMake package). */
#include <stdio.h>
#include <string.h>
#include <turnstile.h>

int main(void) {
    ts_options *o = NULL;
    if (ts_options_create(&o) != TS_OK) return 1;
    ts_options_destroy(o);
    if (strcmp(ts_version(), TS_VERSION_STRING) != 0) return 1;
    printf("consumer: linked against turnstile %s\n", ts_version());
    return 0;
}
