/* make_corpus VECTORS_DIR OUT_DIR - writes every vector's bytes as one seed file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    const char *sub[] = {"valid", "invalid"};
    int i, n = 0;
    if (argc != 3) {
        fprintf(stderr, "usage: make_corpus VECTORS_DIR OUT_DIR\n");
        return 2;
    }
    mkdir(argv[2], 0755);
    for (i = 0; i < 2; i++) {
        char path[4096];
        DIR *d;
        struct dirent *e;
        snprintf(path, sizeof path, "%s/%s", argv[1], sub[i]);
        d = opendir(path);
        if (!d) continue;
        while ((e = readdir(d)) != NULL) {
            size_t l = strlen(e->d_name);
            FILE *in, *out;
            int hi = -1, c;
            if (l < 5 || strcmp(e->d_name + l - 4, ".hex") != 0) continue;
            snprintf(path, sizeof path, "%s/%s/%s", argv[1], sub[i], e->d_name);
            in = fopen(path, "r");
            if (!in) continue;
            snprintf(path, sizeof path, "%s/%s-%.*s", argv[2], sub[i], (int)(l - 4), e->d_name);
            out = fopen(path, "wb");
            if (!out) {
                fclose(in);
                continue;
            }
            while ((c = fgetc(in)) != EOF) {
                int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                if (v < 0) continue;
                if (hi < 0) {
                    hi = v;
                } else {
                    fputc(hi * 16 + v, out);
                    hi = -1;
                }
            }
            fclose(in);
            fclose(out);
            n++;
        }
        closedir(d);
    }
    printf("%d seeds written to %s\n", n, argv[2]);
    return n > 0 ? 0 : 1;
}
