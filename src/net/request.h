/*
 * request.h: one Kafka request's life on a connection.
 *
 * The connection reads a frame into req->frame (owned, exactly the frame's
 * bytes), hands the request to the dispatcher, and later writes req->out
 * followed by any file ranges spliced into it, strictly in request order.
 * Everything decoded from the frame borrows from it or lives in req->arena;
 * both die with the request (rn_req_free). A request finishes once
 * (rn_req_finish); it may finish on a later loop turn than it arrived, but
 * always on its connection's loop.
 */
#ifndef RN_NET_REQUEST_H
#define RN_NET_REQUEST_H

#include "base/arena.h"
#include "base/buf.h"
#include "io/io.h"

#include <stdint.h>

typedef struct rn_conn rn_conn_t;
typedef struct rn_req rn_req_t;

/* A file range to send (sendfile) after out.ptr[0..pos) has been written. */
typedef struct rn_splice {
    size_t pos;
    rn_fd_t fd;
    uint64_t off;
    size_t len;
    void (*release)(void *pin); /* called once the range is sent or dropped */
    void *pin;                  /* keeps the file open while queued */
} rn_splice_t;

struct rn_req {
    rn_req_t *next; /* connection FIFO */
    rn_conn_t *conn;
    uint8_t *frame; /* the request bytes after the length prefix; owned */
    size_t frame_len;
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    size_t body_offset; /* where the body starts in frame (set at dispatch) */
    int forwarded;      /* sent by another node forwarding its client's request */
    int64_t received_ns;
    rn_arena_t arena;
    rn_buf_t out;         /* encoded response frame, length prefix included */
    rn_splice_t *splices; /* in arena */
    int32_t splice_count;
    int32_t splice_cap;
    int finished;        /* response complete (or none is due) */
    int no_response;     /* acks=0 produce: nothing is written back */
    void *handler_state; /* owned by the handler until it finishes */
    /* The response struct, taken from the arena before the handler runs so
       that running out of memory closes the connection at dispatch, never
       inside a handler; rn_handler_response_new hands it out. */
    void *response_reserved;
};

/* Adds a file range after the bytes already in req->out; arena-allocated. */
rn_err_t rn_req_add_splice(rn_req_t *req, const rn_splice_t *splice);
/* Marks the request answered (or, with no_response set, silently done). */
void rn_req_finish(rn_req_t *req);
/* Bytes the response will occupy on the wire. */
size_t rn_req_out_bytes(const rn_req_t *req);

#endif
