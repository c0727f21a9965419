/*
 * assert.h: assertions that stay on in every build.
 *
 * A failed RN_ASSERT is a programmer error: it logs the condition and its place
 * and aborts. Operating errors (a full disk, a bad request) are never asserted;
 * they travel as rn_err_t values (err.h). RN_DASSERT is for checks too slow for
 * the hot path and compiles away unless RN_DEBUG is defined.
 */
#ifndef RN_BASE_ASSERT_H
#define RN_BASE_ASSERT_H

_Noreturn void rn_assert_fail(const char *cond, const char *file, int line);

#define RN_ASSERT(cond) ((cond) ? (void)0 : rn_assert_fail(#cond, __FILE__, __LINE__))

/* Marks a branch that valid states never reach (an unhandled enum value). */
#define RN_UNREACHABLE(what) rn_assert_fail("unreachable: " what, __FILE__, __LINE__)

#ifdef RN_DEBUG
#define RN_DASSERT(cond) RN_ASSERT(cond)
#else
#define RN_DASSERT(cond) ((void)0)
#endif

#define RN_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

#endif
