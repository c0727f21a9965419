/*
 * tmp_dir.c: scratch directories for the unit tests (see tmp_dir.h).
 */
#include "tmp_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool td_make(char *out, size_t cap, const char *prefix) {
    const char *base = getenv("TMPDIR");
    int n = snprintf(out, cap, "%s/%sXXXXXX", base && *base ? base : "/tmp", prefix);
    if (n < 0 || (size_t)n >= cap) return false;
    return mkdtemp(out) != NULL;
}

void td_remove(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        td_remove(sub);
    }
    closedir(d);
    rmdir(path);
}
