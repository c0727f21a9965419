/*
 * loop.h: one event loop per core, running in fixed phases.
 *
 * A turn: wait for readiness (bounded by the next timer), run ready watchers,
 * drain the mailbox, fire due timers, then run the end-of-turn hooks in order
 * (the broker registers "sync the logs appended this turn" before "flush
 * replies", which is how one fsync covers every append of a turn: group
 * commit). A loop and everything it owns is touched only by its own thread;
 * other threads reach it only through rn_loop_post.
 */
#ifndef RN_IO_LOOP_H
#define RN_IO_LOOP_H

#include "io/io.h"
#include "io/mailbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct rn_loop rn_loop_t;

/* Embed in anything registered with the poller. */
typedef struct rn_watch {
    void (*on_ready)(struct rn_watch *watch, uint32_t events);
} rn_watch_t;

typedef struct rn_timer {
    int64_t deadline_ms; /* monotonic ms */
    void (*fn)(struct rn_timer *timer);
    int32_t heap_index; /* -1 when not armed */
} rn_timer_t;

typedef void (*rn_loop_hook_fn)(void *ctx);

#define RN_LOOP_HOOKS_MAX 8

struct rn_loop {
    rn_io_t *io;
    int id;
    rn_fd_t poller;
    rn_fd_t waker;
    rn_watch_t waker_watch;
    rn_mailbox_t mailbox;
    /* 0 only while the loop is about to sleep: a poster that finds it 0
       signals the waker, so a busy loop gets no signals at all. */
    atomic_int wake_pending;
    /* Waits for work in a row that ended within RN_LOOP_SPIN_NS: a loop
       whose work keeps coming back that fast polls before it sleeps. */
    int32_t short_waits;
    atomic_int stopping;
    rn_timer_t **timers; /* binary min-heap by deadline */
    int32_t timer_count;
    int32_t timer_cap;
    struct {
        rn_loop_hook_fn fn;
        void *ctx;
    } hooks[RN_LOOP_HOOKS_MAX];
    int hook_count;
    int64_t now_ms; /* cached at the start of each turn */
    /* Turns begun; other threads read it to know this loop has let go of
       pointers loaded in earlier turns (grace periods). */
    atomic_uint_fast64_t turns;
    pthread_t thread;
};

rn_err_t rn_loop_init(rn_loop_t *loop, rn_io_t *io, int id);
void rn_loop_destroy(rn_loop_t *loop);
/* Registers (or changes, or with events == 0 removes) interest in fd. */
rn_err_t rn_loop_watch(rn_loop_t *loop, rn_fd_t fd, uint32_t events, rn_watch_t *watch);
/* From any thread: queue mail to run on `loop`'s thread, waking it. */
void rn_loop_post(rn_loop_t *loop, rn_mail_t *mail);
/* Arms (or re-arms) a timer at now + delay_ms; loop thread only. */
void rn_loop_timer_start(rn_loop_t *loop, rn_timer_t *timer, int64_t delay_ms);
void rn_loop_timer_stop(rn_loop_t *loop, rn_timer_t *timer);
static inline void rn_timer_init(rn_timer_t *timer, void (*fn)(rn_timer_t *)) {
    timer->deadline_ms = 0;
    timer->fn = fn;
    timer->heap_index = -1;
}
/* Adds an end-of-turn hook; hooks run in the order added. Before run only. */
void rn_loop_add_hook(rn_loop_t *loop, rn_loop_hook_fn fn, void *ctx);
/* Runs turns on the calling thread until rn_loop_stop. */
void rn_loop_run(rn_loop_t *loop);
/* One turn with at most timeout_ms of waiting; for tests and shutdown drains. */
void rn_loop_turn(rn_loop_t *loop, int timeout_ms);
rn_err_t rn_loop_start_thread(rn_loop_t *loop);
/* From any thread: asks the loop to return from rn_loop_run. */
void rn_loop_stop(rn_loop_t *loop);
void rn_loop_join(rn_loop_t *loop);
/* Runs the mail still queued on a stopped loop (after rn_loop_join), so
   nothing posted during shutdown is lost or leaked. */
void rn_loop_drain(rn_loop_t *loop);

#endif
