/*
 * mailbox.h: a multi-producer, single-consumer queue between loop threads.
 *
 * Any thread may post a message; only the owning loop takes them, in order per
 * sender. Messages are intrusive (the caller embeds rn_mail_t and owns the
 * memory) so posting never allocates. Posting is lock-free (one atomic
 * exchange); the owner drains after its waker fires. Bounds come from the
 * senders: every message belongs to a request already counted against its
 * connection's in-flight limit.
 */
#ifndef RN_IO_MAILBOX_H
#define RN_IO_MAILBOX_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct rn_mail rn_mail_t;
typedef void (*rn_mail_fn)(rn_mail_t *mail);

struct rn_mail {
    _Atomic(rn_mail_t *) next;
    rn_mail_fn fn; /* runs on the receiving loop */
};

typedef struct rn_mailbox {
    _Atomic(rn_mail_t *) head; /* producers push here */
    rn_mail_t *tail;           /* consumer pops here */
    rn_mail_t stub;
} rn_mailbox_t;

void rn_mailbox_init(rn_mailbox_t *box);
/* Links mail at the back; the caller wakes the owner (rn_loop_post does). */
void rn_mailbox_push(rn_mailbox_t *box, rn_mail_t *mail);
/* Takes the oldest message, or NULL when empty (or a push is mid-flight). */
rn_mail_t *rn_mailbox_pop(rn_mailbox_t *box);
/* True when nothing is queued and no push is mid-flight; consumer only. */
bool rn_mailbox_empty(rn_mailbox_t *box);

#endif
