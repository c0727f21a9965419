/*
 * fuzz_isr_answer.c: libFuzzer target for how a leader reads the active
 * controller's AlterPartition answer (rn_isr_submit_decode,
 * cluster/isr_submit.h).
 *
 * Input layout: byte 0 is how many changes the request had (1 to 8; they
 * name two topics, partitions 0-3, one of them twice), the rest the answer
 * body. Every change must get a result: NONE with an ISR of at most
 * RN_REPLICAS_MAX members, or a code with no state (leader -1, epochs -1,
 * an empty ISR). Owns nothing past the call; must never crash, leak, or
 * read outside the input.
 */
#include "base/assert.h"
#include "proto/kerr.h"
#include "cluster/isr_submit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHANGES_MAX 8

static void check_result(const rn_ctl_isr_result_t *res) {
    RN_ASSERT(res->isr_count >= 0 && res->isr_count <= RN_REPLICAS_MAX);
    if (res->error_code == RN_KERR_NONE) return;
    RN_ASSERT(res->leader == -1 && res->leader_epoch == -1 && res->partition_epoch == -1);
    RN_ASSERT(res->isr_count == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int32_t count = 1 + data[0] % FUZZ_CHANGES_MAX;
    rn_ctl_isr_change_t changes[FUZZ_CHANGES_MAX];
    rn_ctl_isr_result_t results[FUZZ_CHANGES_MAX];
    memset(changes, 0, sizeof changes);
    memset(results, 0xab, sizeof results);
    for (int32_t n = 0; n < count; n++) {
        changes[n].topic_id.bytes[15] = (uint8_t)(1 + n % 2);
        changes[n].partition = n == count - 1 ? 0 : n % 4; /* the last names p0 again */
        changes[n].isr_count = 1;
        changes[n].isr[0] = 1;
        changes[n].isr_broker_epochs[0] = -1;
    }
    rn_ctl_isr_request_t req = {1, 1, count, changes};
    size_t len = size - 1;
    /* An exact-size copy, so any overread is caught by ASan. */
    uint8_t *copy = malloc(len ? len : 1);
    RN_ASSERT(copy != NULL);
    if (len) memcpy(copy, data + 1, len);
    rn_isr_submit_decode(copy, len, &req, results);
    for (int32_t n = 0; n < count; n++) check_result(&results[n]);
    free(copy);
    return 0;
}
