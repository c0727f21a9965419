/*
 * resolve_linux.h: name lookups of the Linux backend (io.h resolve_* ops),
 * for io_linux.c only.
 *
 * A numeric host is converted at once on the caller's thread; any other
 * name is looked up with getaddrinfo on a small pool of resolver threads,
 * and the caller polls the lookup's handle. See resolve_linux.c.
 */
#ifndef RN_IO_RESOLVE_LINUX_H
#define RN_IO_RESOLVE_LINUX_H

#include "io/io.h"

/* getaddrinfo on the calling thread, blocking: for binding a listener at
   start-up only (flags AI_PASSIVE, host NULL for every address). */
rn_err_t rn_resolve_blocking(const char *host, uint16_t port, int flags, rn_io_addrs_t *addrs);
rn_err_t rn_resolve_start(const char *host, uint16_t port, rn_io_addrs_t *addrs,
                          rn_io_resolve_t **res);
rn_err_t rn_resolve_poll(rn_io_resolve_t *res, rn_io_addrs_t *addrs);
void rn_resolve_release(rn_io_resolve_t *res);

#endif
