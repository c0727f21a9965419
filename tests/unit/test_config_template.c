/*
 * test_config_template.c: pod templates in setting values: each template
 * and the variable it reads, the ordinal from POD_INDEX or the pod name, the
 * ${EACH} repeat form of list settings, the ${ORDINAL+N} offset form, the
 * literal $${, and the start-up
 * errors (unknown template, missing or malformed variable, too long), both
 * through rn_config_template_expand and through a whole load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/io.h"
#include "server/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char out[RN_CONFIG_VALUE_BYTES_MAX + 1];
static char why[256];

/* A StatefulSet pod's environment. */
static const char *pod_env[] = {"HOSTNAME=runnel-2",
                                "POD_NAME=runnel-2",
                                "POD_NAMESPACE=streams",
                                "SERVICE_NAME=runnel-headless",
                                "HOST_IP=10.1.2.3",
                                "REPLICAS=3",
                                NULL};

static rn_err_t expand(const char *text, bool list, const char **env) {
    return rn_config_template_expand(text, list, (char **)env, out, sizeof out, why, sizeof why);
}

static void expands_to(const char *text, bool list, const char **env, const char *want) {
    if (expand(text, list, env) != RN_OK) fail_msg("%s: %s", text, why);
    assert_string_equal(out, want);
}

/* Expansion fails and why holds both fragments. */
static void refused(const char *text, bool list, const char **env, const char *frag1,
                    const char *frag2) {
    if (expand(text, list, env) == RN_OK) fail_msg("%s expanded to %s", text, out);
    if (frag1 && !strstr(why, frag1)) fail_msg("'%s' not in: %s", frag1, why);
    if (frag2 && !strstr(why, frag2)) fail_msg("'%s' not in: %s", frag2, why);
}

static void test_each_template(void **state) {
    (void)state;
    expands_to("${POD_NAME}", false, pod_env, "runnel-2");
    expands_to("${ORDINAL}", false, pod_env, "2");
    expands_to("${STATEFULSET}", false, pod_env, "runnel");
    expands_to("${SERVICE}", false, pod_env, "runnel-headless");
    expands_to("${NAMESPACE}", false, pod_env, "streams");
    expands_to("${HOST_IP}", false, pod_env, "10.1.2.3");
    expands_to("${REPLICAS}", false, pod_env, "3");
    expands_to("PLAINTEXT://${POD_NAME}.${SERVICE}.${NAMESPACE}.svc:9092", true, pod_env,
               "PLAINTEXT://runnel-2.runnel-headless.streams.svc:9092");
    /* No template: unchanged; a lone $ or $x is text. */
    expands_to("a$b$", false, pod_env, "a$b$");
    assert_false(rn_config_template_has("PLAINTEXT://:9092"));
    assert_true(rn_config_template_has("${ORDINAL}"));
}

static void test_ordinal_sources(void **state) {
    (void)state;
    /* HOSTNAME alone (POD_NAME unset), as the pod's host name is its name. */
    const char *host_only[] = {"HOSTNAME=kafka-store-11", NULL};
    expands_to("${ORDINAL}/${POD_NAME}/${STATEFULSET}", false, host_only,
               "11/kafka-store-11/kafka-store");
    /* POD_INDEX (the pod-index label) wins when the name has no ordinal. */
    const char *index_only[] = {"HOSTNAME=custom", "POD_INDEX=4", NULL};
    expands_to("${ORDINAL}", false, index_only, "4");
    /* POD_NAME wins over HOSTNAME. */
    const char *both[] = {"HOSTNAME=node-9", "POD_NAME=runnel-1", NULL};
    expands_to("${ORDINAL}", false, both, "1");
    /* Disagreeing sources, bad index, no ordinal at all. */
    const char *disagree[] = {"POD_NAME=runnel-1", "POD_INDEX=2", NULL};
    refused("${ORDINAL}", false, disagree, "POD_INDEX=2 disagrees", "runnel-1");
    const char *bad_index[] = {"POD_NAME=x", "POD_INDEX=-1", NULL};
    refused("${ORDINAL}", false, bad_index, "POD_INDEX='-1'", NULL);
    const char *no_suffix[] = {"HOSTNAME=laptop", NULL};
    refused("${ORDINAL}", false, no_suffix, "pod name ending in -N", "'laptop'");
    refused("${STATEFULSET}", false, no_suffix, "does not end in -N", NULL);
    refused("${ORDINAL}", false, NULL, "neither is set", NULL);
}

static void test_each_repeats_list_items(void **state) {
    (void)state;
    expands_to("${EACH}@${STATEFULSET}-${EACH}.${SERVICE}:9093", true, pod_env,
               "0@runnel-0.runnel-headless:9093,1@runnel-1.runnel-headless:9093,"
               "2@runnel-2.runnel-headless:9093");
    /* Items without ${EACH} stay single, in place. */
    expands_to("a:1, ${STATEFULSET}-${EACH}.x:9093 ,b:2", true, pod_env,
               "a:1, runnel-0.x:9093 , runnel-1.x:9093 , runnel-2.x:9093 ,b:2");
    const char *one[] = {"POD_NAME=runnel-0", "REPLICAS=1", NULL};
    expands_to("${EACH}@h-${EACH}:9093", true, one, "0@h-0:9093");
    /* Only in list settings, and only with a usable REPLICAS. */
    refused("${EACH}", false, pod_env, "not a list", NULL);
    const char *no_replicas[] = {"POD_NAME=runnel-0", NULL};
    refused("${EACH}@h:1", true, no_replicas, "REPLICAS", "not set");
    refused("${REPLICAS}", false, no_replicas, "REPLICAS", "not set");
    const char *zero[] = {"REPLICAS=0", NULL};
    refused("${EACH}@h:1", true, zero, "REPLICAS='0'", NULL);
    const char *junk[] = {"REPLICAS=3x", NULL};
    refused("${REPLICAS}", false, junk, "REPLICAS='3x'", NULL);
}

/* ${ORDINAL+N}: a second StatefulSet's ids above the first's, per-pod
   ports; a malformed or overflowing offset stops the start. */
static void test_ordinal_offset(void **state) {
    (void)state;
    expands_to("${ORDINAL+100}", false, pod_env, "102");
    expands_to("${ORDINAL+0}", false, pod_env, "2");
    expands_to("EXTERNAL://${HOST_IP}:${ORDINAL+31090}", true, pod_env,
               "EXTERNAL://10.1.2.3:31092");
    const char *index_only[] = {"HOSTNAME=custom", "POD_INDEX=4", NULL};
    expands_to("${ORDINAL+10}", false, index_only, "14");
    refused("${ORDINAL+}", false, pod_env, "offset after ORDINAL+", NULL);
    refused("${ORDINAL+-1}", false, pod_env, "offset after ORDINAL+", NULL);
    refused("${ORDINAL+1x}", false, pod_env, "${ORDINAL+1x}", "a number");
    refused("${ORDINAL+2147483647}", false, pod_env, "above 2147483647", NULL);
    const char *no_suffix[] = {"HOSTNAME=laptop", NULL};
    refused("${ORDINAL+100}", false, no_suffix, "pod name ending in -N", NULL);
    refused("${ORDINAL-1}", false, pod_env, "unknown template ${ORDINAL-1}", "ORDINAL+N");
}

static void test_literal_and_errors(void **state) {
    (void)state;
    expands_to("$${ORDINAL}-${ORDINAL}", false, pod_env, "${ORDINAL}-2");
    expands_to("$${EACH}", true, pod_env, "${EACH}");
    assert_true(rn_config_template_repeats("a:1,${EACH}@h-${EACH}:9093"));
    assert_false(rn_config_template_repeats("$${EACH}@h:9093"));
    assert_false(rn_config_template_repeats("0@h-0:9093"));
    refused("${ZONE}", false, pod_env, "unknown template ${ZONE}", "ORDINAL");
    refused("${ordinal}", false, pod_env, "unknown template ${ordinal}", NULL);
    refused("x-${ORDINAL", false, pod_env, "no closing '}'", NULL);
    const char *bare[] = {NULL};
    refused("${SERVICE}", false, bare, "SERVICE_NAME", "not set");
    refused("${NAMESPACE}", false, bare, "POD_NAMESPACE", "not set");
    refused("${HOST_IP}", false, bare, "HOST_IP", "not set");
    /* An empty variable counts as unset. */
    const char *empty[] = {"SERVICE_NAME=", NULL};
    refused("${SERVICE}", false, empty, "SERVICE_NAME", "not set");
    /* The output is bounded: a huge REPLICAS fills it and stops. */
    const char *huge[] = {"REPLICAS=2000000000", NULL};
    refused("${EACH}@host-${EACH}:9093", true, huge, "more than", NULL);
    char small[8];
    assert_int_equal(rn_config_template_expand("${HOST_IP}", false, (char **)pod_env, small,
                                               sizeof small, why, sizeof why),
                     RN_ERR_INVALID);
}

/* Through the whole load: every source expands, and the errors name the
   source and the setting. */
static void test_load(void **state) {
    (void)state;
    const char *args[] = {
        "--set", "node.id=${ORDINAL}",
        "--set", "process.roles=broker,controller",
        "--set", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093",
        "--set", "controller.listener.names=CONTROLLER",
        "--set", "controller.quorum.voters=${EACH}@${STATEFULSET}-${EACH}.${SERVICE}:9093",
        NULL};
    const char *env[] = {"POD_NAME=runnel-2",
                         "SERVICE_NAME=runnel-headless",
                         "POD_NAMESPACE=streams",
                         "REPLICAS=3",
                         "RUNNEL_ADVERTISED_LISTENERS=PLAINTEXT://${POD_NAME}.${SERVICE}:9092",
                         "RUNNEL_BROKER_RACK=zone-b",
                         NULL};
    char errmsg[512];
    rn_config_t cfg;
    if (rn_config_load_io(&cfg, rn_io_linux(), 2, 10, (char **)args, (char **)env, errmsg,
                          sizeof errmsg) != RN_OK)
        fail_msg("load: %s", errmsg);
    assert_int_equal(cfg.node_id, 2);
    assert_int_equal(cfg.voter_count, 3);
    for (int n = 0; n < 3; n++) {
        char host[64];
        snprintf(host, sizeof host, "runnel-%d.runnel-headless", n);
        assert_int_equal(cfg.voters[n].id, n);
        assert_string_equal(cfg.voters[n].host, host);
        assert_int_equal(cfg.voters[n].port, 9093);
    }
    assert_string_equal(cfg.advertised[0].host, "runnel-2.runnel-headless");
    assert_string_equal(cfg.rack, "zone-b");
    /* The expanded text is what DescribeConfigs reports. */
    assert_string_equal(rn_config_get(&cfg, "node.id")->text, "2");
    rn_config_free(&cfg);

    const char *bad_args[] = {"--set", "node.id=${ORDINAL}", NULL};
    const char *no_pod[] = {"HOSTNAME=laptop", NULL};
    assert_int_equal(rn_config_load_io(&cfg, rn_io_linux(), 2, 2, (char **)bad_args,
                                       (char **)no_pod, errmsg, sizeof errmsg),
                     RN_ERR_INVALID);
    assert_non_null(strstr(errmsg, "--set node.id"));
    assert_non_null(strstr(errmsg, "${ORDINAL}"));
    const char *bad_env[] = {"RUNNEL_BROKER_RACK=${ZONE}", NULL};
    assert_int_equal(
        rn_config_load_io(&cfg, rn_io_linux(), 2, 0, NULL, (char **)bad_env, errmsg, sizeof errmsg),
        RN_ERR_INVALID);
    assert_non_null(strstr(errmsg, "environment RUNNEL_BROKER_RACK"));
    assert_non_null(strstr(errmsg, "unknown template ${ZONE}"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_template),           cmocka_unit_test(test_ordinal_sources),
        cmocka_unit_test(test_each_repeats_list_items), cmocka_unit_test(test_ordinal_offset),
        cmocka_unit_test(test_literal_and_errors),      cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
