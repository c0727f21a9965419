/*
 * signals.h: the stop signals (SIGTERM, SIGINT) of a broker process.
 *
 * One thread of its own takes them with sigwait; every other thread blocks
 * them (the mask is set before the process starts any other thread, and
 * threads inherit it), so no signal reaches a thread that would die of it
 * in the middle of a clean stop. What each one does:
 *  - while the broker starts: the process ends, as the signal's default
 *    action (a start may wait long for its quorum; nothing serves yet);
 *  - once it serves: the first one asks for the clean stop;
 *  - during the clean stop: each further one is logged and ignored, as
 *    Kafka's broker ignores them (its shutdown runs to the end); SIGKILL
 *    ends the process at once.
 *
 * Server layer only: process-wide by nature, one per process.
 */
#ifndef RN_SERVER_SIGNALS_H
#define RN_SERVER_SIGNALS_H

#include "base/err.h"

#include <pthread.h>
#include <signal.h>

typedef struct rn_signals {
    sigset_t set; /* SIGTERM, SIGINT */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int phase; /* starting, serving, stopping (signals.c) */
    int sig;   /* the signal that asked for the stop */
} rn_signals_t;

/* Blocks the stop signals in the calling thread (and so in every thread it
   starts later) and starts the thread that takes them. Before any other
   thread of the process starts. */
rn_err_t rn_signals_start(rn_signals_t *s);
/* The broker serves: waits for the first stop signal and returns it; later
   ones are logged and ignored. */
int rn_signals_wait_stop(rn_signals_t *s);

#endif
