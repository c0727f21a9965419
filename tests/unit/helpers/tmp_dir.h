/*
 * tmp_dir.h: scratch directories for the unit tests that use the real file
 * system: one made fresh under $TMPDIR (or /tmp), and removed with all it
 * holds. The names start with td_.
 */
#ifndef RN_TESTS_TMP_DIR_H
#define RN_TESTS_TMP_DIR_H

#include <stdbool.h>
#include <stddef.h>

/* Makes a new directory $TMPDIR/<prefix>XXXXXX (/tmp when TMPDIR is unset
   or empty) and writes its path to out (cap bytes); false if it cannot. */
bool td_make(char *out, size_t cap, const char *prefix);

/* Removes path: a file, or a directory and everything below it. Best
   effort; what cannot be removed stays. */
void td_remove(const char *path);

#endif
