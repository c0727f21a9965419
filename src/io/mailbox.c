/*
 * mailbox.c: an intrusive MPSC queue (a linked list with a stub node: push is
 * an atomic exchange of the head, pop follows next pointers from the tail).
 */
#include "io/mailbox.h"
#include "base/assert.h"

#include <stddef.h>

void rn_mailbox_init(rn_mailbox_t *box) {
    atomic_store_explicit(&box->stub.next, NULL, memory_order_relaxed);
    box->stub.fn = NULL;
    atomic_store_explicit(&box->head, &box->stub, memory_order_relaxed);
    box->tail = &box->stub;
}

static void mailbox_link(rn_mailbox_t *box, rn_mail_t *mail) {
    atomic_store_explicit(&mail->next, NULL, memory_order_relaxed);
    rn_mail_t *prev = atomic_exchange_explicit(&box->head, mail, memory_order_acq_rel);
    atomic_store_explicit(&prev->next, mail, memory_order_release);
}

void rn_mailbox_push(rn_mailbox_t *box, rn_mail_t *mail) {
    RN_ASSERT(mail->fn != NULL);
    mailbox_link(box, mail);
}

rn_mail_t *rn_mailbox_pop(rn_mailbox_t *box) {
    rn_mail_t *tail = box->tail;
    rn_mail_t *next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (tail == &box->stub) {
        if (!next) return NULL;
        box->tail = next;
        tail = next;
        next = atomic_load_explicit(&next->next, memory_order_acquire);
    }
    if (next) {
        box->tail = next;
        return tail;
    }
    rn_mail_t *head = atomic_load_explicit(&box->head, memory_order_acquire);
    if (tail != head) return NULL; /* a push is between its two steps */
    mailbox_link(box, &box->stub);
    next = atomic_load_explicit(&tail->next, memory_order_acquire);
    if (next) {
        box->tail = next;
        return tail;
    }
    return NULL;
}

bool rn_mailbox_empty(rn_mailbox_t *box) {
    /* A push moves the head off the stub first; the last pop puts it back. */
    return atomic_load_explicit(&box->head, memory_order_seq_cst) == &box->stub;
}
