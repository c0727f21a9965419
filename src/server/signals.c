/*
 * signals.c: the thread that takes the stop signals (see signals.h).
 */
#include "server/signals.h"
#include "base/assert.h"
#include "base/log.h"

#define SIGNALS_STARTING 0
#define SIGNALS_SERVING 1
#define SIGNALS_STOPPING 2

/* A stop signal before the broker serves: the process ends as the
   signal's default action ends it. */
static void signals_default(int sig) {
    RN_INFO("server", "signal %d during start-up: exiting", sig);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    signal(sig, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
}

static void *signals_main(void *arg) {
    rn_signals_t *s = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&s->set, &sig) != 0) continue;
        pthread_mutex_lock(&s->lock);
        int phase = s->phase;
        if (phase == SIGNALS_SERVING) {
            s->phase = SIGNALS_STOPPING;
            s->sig = sig;
            pthread_cond_broadcast(&s->cond);
        }
        pthread_mutex_unlock(&s->lock);
        if (phase == SIGNALS_STARTING)
            signals_default(sig);
        else if (phase == SIGNALS_STOPPING)
            RN_INFO("server",
                    "signal %d again: already stopping cleanly, carrying on (SIGKILL ends the "
                    "process at once)",
                    sig);
    }
    return NULL;
}

rn_err_t rn_signals_start(rn_signals_t *s) {
    sigemptyset(&s->set);
    sigaddset(&s->set, SIGTERM);
    sigaddset(&s->set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &s->set, NULL);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->phase = SIGNALS_STARTING;
    s->sig = 0;
    if (pthread_create(&s->thread, NULL, signals_main, s) != 0) return RN_ERR_LIMIT;
    /* It runs until the process exits, waiting for signals. */
    pthread_detach(s->thread);
    return RN_OK;
}

int rn_signals_wait_stop(rn_signals_t *s) {
    pthread_mutex_lock(&s->lock);
    RN_ASSERT(s->phase == SIGNALS_STARTING);
    s->phase = SIGNALS_SERVING;
    while (s->phase != SIGNALS_STOPPING) pthread_cond_wait(&s->cond, &s->lock);
    int sig = s->sig;
    pthread_mutex_unlock(&s->lock);
    RN_ASSERT(sig != 0);
    return sig;
}
