/*
 * loop.c: the per-core event loop: poller, mailbox, timer heap and
 * end-of-turn hooks. It owns no sockets or files of its own besides its
 * poller and waker; watchers own theirs.
 */
#include "io/loop.h"
#include "base/assert.h"
#include "base/limits.h"

#include <stddef.h>
#include <stdlib.h>

static void waker_ready(rn_watch_t *watch, uint32_t events) {
    (void)events; /* the mailbox drain phase runs the mail */
    rn_loop_t *loop = (rn_loop_t *)((char *)watch - offsetof(rn_loop_t, waker_watch));
    loop->io->ops->waker_drain(loop->io, loop->waker);
}

rn_err_t rn_loop_init(rn_loop_t *loop, rn_io_t *io, int id) {
    *loop = (rn_loop_t){0};
    loop->io = io;
    loop->id = id;
    rn_mailbox_init(&loop->mailbox);
    rn_err_t err = io->ops->poller_create(io, &loop->poller);
    if (err != RN_OK) return err;
    err = io->ops->waker_create(io, &loop->waker);
    if (err != RN_OK) {
        io->ops->poller_close(io, loop->poller);
        return err;
    }
    loop->waker_watch.on_ready = waker_ready;
    err = rn_loop_watch(loop, loop->waker, RN_IO_EV_READ, &loop->waker_watch);
    loop->now_ms = rn_io_now_ms(io);
    return err;
}

void rn_loop_destroy(rn_loop_t *loop) {
    loop->io->ops->sock_close(loop->io, loop->waker);
    loop->io->ops->poller_close(loop->io, loop->poller);
    free(loop->timers);
    loop->timers = NULL;
}

rn_err_t rn_loop_watch(rn_loop_t *loop, rn_fd_t fd, uint32_t events, rn_watch_t *watch) {
    return loop->io->ops->poller_set(loop->io, loop->poller, fd, events, watch);
}

void rn_loop_post(rn_loop_t *loop, rn_mail_t *mail) {
    rn_mailbox_push(&loop->mailbox, mail);
    /* Pairs with loop_may_sleep: the push is visible before the flag is
       read, so either the loop sees the mail or this sees the flag at 0. */
    if (atomic_exchange_explicit(&loop->wake_pending, 1, memory_order_seq_cst) == 0)
        loop->io->ops->waker_signal(loop->io, loop->waker);
}

/* ---- timer heap ---- */

static void heap_swap(rn_loop_t *loop, int32_t a, int32_t b) {
    rn_timer_t *t = loop->timers[a];
    loop->timers[a] = loop->timers[b];
    loop->timers[b] = t;
    loop->timers[a]->heap_index = a;
    loop->timers[b]->heap_index = b;
}

static void heap_up(rn_loop_t *loop, int32_t i) {
    while (i > 0) {
        int32_t parent = (i - 1) / 2;
        if (loop->timers[parent]->deadline_ms <= loop->timers[i]->deadline_ms) break;
        heap_swap(loop, i, parent);
        i = parent;
    }
}

static void heap_down(rn_loop_t *loop, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->timer_count && loop->timers[l]->deadline_ms < loop->timers[m]->deadline_ms)
            m = l;
        if (r < loop->timer_count && loop->timers[r]->deadline_ms < loop->timers[m]->deadline_ms)
            m = r;
        if (m == i) return;
        heap_swap(loop, i, m);
        i = m;
    }
}

void rn_loop_timer_stop(rn_loop_t *loop, rn_timer_t *timer) {
    int32_t i = timer->heap_index;
    if (i < 0) return;
    RN_ASSERT(i < loop->timer_count && loop->timers[i] == timer);
    int32_t last = --loop->timer_count;
    if (i != last) {
        heap_swap(loop, i, last);
        heap_down(loop, i);
        heap_up(loop, i);
    }
    timer->heap_index = -1;
}

void rn_loop_timer_start(rn_loop_t *loop, rn_timer_t *timer, int64_t delay_ms) {
    RN_ASSERT(timer->fn != NULL);
    RN_ASSERT(delay_ms >= 0);
    rn_loop_timer_stop(loop, timer);
    if (loop->timer_count == loop->timer_cap) {
        int32_t cap = loop->timer_cap ? loop->timer_cap * 2 : 64;
        rn_timer_t **timers = realloc(loop->timers, (size_t)cap * sizeof *timers);
        RN_ASSERT(timers != NULL); /* timers are few: one per connection and parked op */
        loop->timers = timers;
        loop->timer_cap = cap;
    }
    timer->deadline_ms = rn_io_now_ms(loop->io) + delay_ms;
    timer->heap_index = loop->timer_count;
    loop->timers[loop->timer_count++] = timer;
    heap_up(loop, timer->heap_index);
}

static int next_timeout_ms(rn_loop_t *loop, int timeout_ms) {
    if (loop->timer_count == 0) return timeout_ms;
    int64_t wait = loop->timers[0]->deadline_ms - rn_io_now_ms(loop->io);
    if (wait < 0) wait = 0;
    if (timeout_ms >= 0 && wait > timeout_ms) wait = timeout_ms;
    return (int)wait;
}

static void run_timers(rn_loop_t *loop) {
    while (loop->timer_count > 0 && loop->timers[0]->deadline_ms <= loop->now_ms) {
        rn_timer_t *timer = loop->timers[0];
        rn_loop_timer_stop(loop, timer);
        timer->fn(timer);
    }
}

/* ---- turns ---- */

void rn_loop_add_hook(rn_loop_t *loop, rn_loop_hook_fn fn, void *ctx) {
    RN_ASSERT(loop->hook_count < RN_LOOP_HOOKS_MAX);
    loop->hooks[loop->hook_count].fn = fn;
    loop->hooks[loop->hook_count].ctx = ctx;
    loop->hook_count++;
}

/* The poll timeout this turn may use: before blocking, posters are asked
   to signal (the flag goes to 0), then the mailbox is checked once more so
   mail posted just before that is not left waiting for the timeout. */
static int loop_may_sleep(rn_loop_t *loop, int timeout_ms) {
    if (timeout_ms == 0) return 0;
    atomic_store_explicit(&loop->wake_pending, 0, memory_order_seq_cst);
    if (rn_mailbox_empty(&loop->mailbox)) return timeout_ms;
    atomic_store_explicit(&loop->wake_pending, 1, memory_order_relaxed);
    return 0;
}

/*
 * Waking a sleeping loop costs an eventfd write and, on its CPU, a switch
 * back in; on a virtual machine each is an exit to the host. A loop whose
 * recent waits for work were short is likely to get more within microseconds
 * (a client streaming requests, another core's replies), so it polls for a
 * while first, yielding the CPU between polls so the client's threads run.
 * Posters see it as awake (wake_pending stays 1) and skip the eventfd. It
 * takes two short waits in a row: at light load a request's one quick
 * reply from another core follows a long wait, and the loop just sleeps.
 */
static int loop_spin(rn_loop_t *loop, rn_io_event_t *events, int timeout_ms) {
    if (timeout_ms == 0 || loop->short_waits < 2) return -1;
    rn_io_t *io = loop->io;
    int64_t start_ns = rn_io_now_ns(io);
    int64_t now_ns = start_ns;
    while (now_ns - start_ns < RN_LOOP_SPIN_NS) {
        io->ops->cpu_yield(io);
        int n = io->ops->poller_wait(io, loop->poller, events, RN_POLL_EVENTS_MAX, 0);
        now_ns = rn_io_now_ns(io);
        if (n > 0 || !rn_mailbox_empty(&loop->mailbox)) return n;
    }
    return -1; /* nothing came: sleep */
}

/* Polls (loop_spin) or sleeps until there is work or timeout_ms passes. */
static int loop_wait(rn_loop_t *loop, rn_io_event_t *events, int timeout_ms) {
    int n = loop_spin(loop, events, timeout_ms);
    if (n >= 0) return n;
    int sleep_ms = loop_may_sleep(loop, timeout_ms);
    int64_t start_ns = rn_io_now_ns(loop->io);
    n = loop->io->ops->poller_wait(loop->io, loop->poller, events, RN_POLL_EVENTS_MAX, sleep_ms);
    if (sleep_ms == 0) return n;
    bool quick = rn_io_now_ns(loop->io) - start_ns < RN_LOOP_SPIN_NS;
    loop->short_waits = quick ? loop->short_waits + (loop->short_waits < 2) : 0;
    return n;
}

static void drain_mailbox(rn_loop_t *loop) {
    rn_mail_t *mail;
    while ((mail = rn_mailbox_pop(&loop->mailbox)) != NULL) mail->fn(mail);
}

void rn_loop_turn(rn_loop_t *loop, int timeout_ms) {
    rn_io_event_t events[RN_POLL_EVENTS_MAX];
    atomic_fetch_add_explicit(&loop->turns, 1, memory_order_acq_rel);
    int n = loop_wait(loop, events, next_timeout_ms(loop, timeout_ms));
    loop->now_ms = rn_io_now_ms(loop->io);
    for (int i = 0; i < n; i++) {
        rn_watch_t *watch = events[i].ctx;
        watch->on_ready(watch, events[i].events);
    }
    drain_mailbox(loop);
    run_timers(loop);
    for (int i = 0; i < loop->hook_count; i++) loop->hooks[i].fn(loop->hooks[i].ctx);
}

void rn_loop_run(rn_loop_t *loop) {
    while (!atomic_load_explicit(&loop->stopping, memory_order_acquire))
        rn_loop_turn(loop, RN_TIMER_TICK_MS * 100);
}

static void *loop_thread_main(void *arg) {
    rn_loop_run(arg);
    return NULL;
}

rn_err_t rn_loop_start_thread(rn_loop_t *loop) {
    return pthread_create(&loop->thread, NULL, loop_thread_main, loop) == 0 ? RN_OK : RN_ERR_LIMIT;
}

void rn_loop_stop(rn_loop_t *loop) {
    atomic_store_explicit(&loop->stopping, 1, memory_order_release);
    loop->io->ops->waker_signal(loop->io, loop->waker);
}

void rn_loop_join(rn_loop_t *loop) { pthread_join(loop->thread, NULL); }

void rn_loop_drain(rn_loop_t *loop) { drain_mailbox(loop); }
