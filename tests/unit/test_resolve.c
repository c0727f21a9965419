/*
 * test_resolve.c: name lookups through the I/O seam (io.h resolve_* ops):
 * the Linux backend (numeric hosts converted at once, names looked up on
 * the resolver threads and polled, lookups given back while they run) and
 * the simulator (numeric hosts and its own name table, answered at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/io.h"
#include "io/io_sim.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Polls a lookup until it ends (at most 5 s). */
static rn_err_t poll_until_done(rn_io_t *io, rn_io_resolve_t *res, rn_io_addrs_t *addrs) {
    for (int i = 0; i < 5000; i++) {
        rn_err_t err = io->ops->resolve_poll(io, res, addrs);
        if (err != RN_ERR_AGAIN) return err;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return RN_ERR_AGAIN;
}

static void assert_ipv4(const rn_io_addr_t *addr, const char *ip, uint16_t port) {
    struct sockaddr_in in4;
    assert_int_equal(addr->len, sizeof in4);
    memcpy(&in4, addr->raw, sizeof in4);
    assert_int_equal(in4.sin_family, AF_INET);
    assert_int_equal(ntohs(in4.sin_port), port);
    char text[INET_ADDRSTRLEN];
    assert_non_null(inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text));
    assert_string_equal(text, ip);
}

static void test_linux_numeric_hosts_at_once(void **state) {
    (void)state;
    rn_io_t *io = rn_io_linux();
    rn_io_addrs_t addrs;
    rn_io_resolve_t *res = (rn_io_resolve_t *)&addrs; /* must be reset */
    assert_int_equal(io->ops->resolve_start(io, "10.1.2.3", 9092, &addrs, &res), RN_OK);
    assert_null(res);
    assert_int_equal(addrs.count, 1);
    assert_ipv4(&addrs.addr[0], "10.1.2.3", 9092);
    assert_int_equal(io->ops->resolve_start(io, "fd00::17", 9093, &addrs, &res), RN_OK);
    assert_null(res);
    assert_int_equal(addrs.count, 1);
    struct sockaddr_in6 in6;
    memcpy(&in6, addrs.addr[0].raw, sizeof in6);
    assert_int_equal(in6.sin6_family, AF_INET6);
    assert_int_equal(ntohs(in6.sin6_port), 9093);
    assert_int_equal(io->ops->resolve_start(io, "", 1, &addrs, &res), RN_ERR_NOT_FOUND);
    assert_null(res);
}

static void test_linux_name_off_the_thread(void **state) {
    (void)state;
    rn_io_t *io = rn_io_linux();
    rn_io_addrs_t addrs;
    rn_io_resolve_t *res = NULL;
    assert_int_equal(io->ops->resolve_start(io, "localhost", 7, &addrs, &res), RN_ERR_AGAIN);
    assert_non_null(res);
    assert_int_equal(poll_until_done(io, res, &addrs), RN_OK);
    assert_true(addrs.count >= 1 && addrs.count <= RN_IO_RESOLVE_ADDRS_MAX);
    io->ops->resolve_release(io, res);
    /* A name that does not exist ends in RN_ERR_NOT_FOUND. */
    assert_int_equal(io->ops->resolve_start(io, "no-such-host.invalid", 7, &addrs, &res),
                     RN_ERR_AGAIN);
    assert_int_equal(poll_until_done(io, res, &addrs), RN_ERR_NOT_FOUND);
    io->ops->resolve_release(io, res);
}

/* Lookups given back at once, queued or running: each is freed by
   whoever lets go last (ASan and LSan check). */
static void test_linux_release_while_running(void **state) {
    (void)state;
    rn_io_t *io = rn_io_linux();
    for (int i = 0; i < 200; i++) {
        rn_io_addrs_t addrs;
        rn_io_resolve_t *res = NULL;
        assert_int_equal(io->ops->resolve_start(io, "localhost", 7, &addrs, &res), RN_ERR_AGAIN);
        io->ops->resolve_release(io, res);
    }
    /* The pool still serves a lookup after all that. */
    rn_io_addrs_t addrs;
    rn_io_resolve_t *res = NULL;
    assert_int_equal(io->ops->resolve_start(io, "localhost", 7, &addrs, &res), RN_ERR_AGAIN);
    assert_int_equal(poll_until_done(io, res, &addrs), RN_OK);
    io->ops->resolve_release(io, res);
}

static void test_sim_answers_at_once(void **state) {
    (void)state;
    rn_sim_t *sim = rn_sim_create(1, 2);
    rn_io_t *io = rn_sim_io(sim, 1);
    rn_io_addrs_t addrs;
    rn_io_resolve_t *res = NULL;
    assert_int_equal(io->ops->resolve_start(io, "10.0.0.1", 9093, &addrs, &res), RN_OK);
    assert_null(res);
    assert_ipv4(&addrs.addr[0], "10.0.0.1", 9093);
    /* A name not published yet does not resolve; once published it does,
       on every node; withdrawn, it no longer does. */
    assert_int_equal(io->ops->resolve_start(io, "node-2.peers", 9093, &addrs, &res),
                     RN_ERR_NOT_FOUND);
    assert_null(res);
    rn_sim_name_set(sim, "node-2.peers", "10.0.0.2");
    assert_int_equal(io->ops->resolve_start(io, "node-2.peers", 9093, &addrs, &res), RN_OK);
    assert_null(res);
    assert_int_equal(addrs.count, 1);
    assert_ipv4(&addrs.addr[0], "10.0.0.2", 9093);
    rn_io_t *io2 = rn_sim_io(sim, 2);
    rn_sim_name_set(sim, "node-2.peers", "10.0.0.9"); /* the pod moved */
    assert_int_equal(io2->ops->resolve_start(io2, "node-2.peers", 1, &addrs, &res), RN_OK);
    assert_ipv4(&addrs.addr[0], "10.0.0.9", 1);
    rn_sim_name_set(sim, "node-2.peers", NULL);
    assert_int_equal(io->ops->resolve_start(io, "node-2.peers", 9093, &addrs, &res),
                     RN_ERR_NOT_FOUND);
    rn_sim_destroy(sim);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linux_numeric_hosts_at_once),
        cmocka_unit_test(test_linux_name_off_the_thread),
        cmocka_unit_test(test_linux_release_while_running),
        cmocka_unit_test(test_sim_answers_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
