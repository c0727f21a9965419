# Runnel build: one entry point.
#
#   make                 release build of build/release/runnel
#   make MODE=debug      debug build (assertions plus RN_DEBUG checks)
#   make MODE=asan       ASan + UBSan build
#   make test            unit, simulator, fuzz-replay and interop tests (see tests/run.sh)
#   make test-cluster-clients  the client interop tests against a 3-node cluster (docs/CLUSTER.md)
#   make gen | gen-check regenerate the protocol codec | check it is current
#   make fuzz            build libFuzzer targets (clang)
#   make format          clang-format every source file
#   make cluster-kill-loop  the controller kill loop on 3 nodes (figures; see docs/CLUSTER.md)
#   make bench-replication  replication figures, Runnel and Kafka 3.9 (see docs/CLUSTER.md)
#   make replication-verify  leader kills, a roll and a crash under a verifier (docs/CLUSTER.md)
#   make balance-verify  a fourth broker balanced in and drained out under a verifier (docs/BALANCING.md)
#   make image           OCI image localhost/runnel:dev and build/runnel-image.tar (buildah)
#   make image-test      run the image under podman and runc (docs/KUBERNETES.md)
#   make k8s-cluster     start a local single-node Kubernetes (built once; root; docs/KUBERNETES.md)
#   make k8s-cluster-down  stop it and clean up everything it made
#   make k8s-test        the image's scenarios on that Kubernetes (tens of minutes; not in make test)

MODE ?= release
CC ?= cc
BUILD := build/$(MODE)
KAFKA_SCHEMAS ?= ../shared/kafka-protocol/messages
# Schemas of a newer Kafka for the few APIs tools/codegen/codegen.py's
# NEWER_APIS and MERGED_APIS name (among them DescribeGroups v6, OffsetCommit
# and OffsetFetch v10).
KAFKA_SCHEMAS_NEWER ?= ../shared/kafka-protocol/messages-4.3

WARN := -Wall -Wextra -Werror -Wshadow -Wconversion -Wno-sign-conversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wvla
BASE_CFLAGS := -std=gnu11 -g -pthread -D_GNU_SOURCE -Isrc $(WARN)

ifeq ($(MODE),release)
  MODE_CFLAGS := -O2
else ifeq ($(MODE),debug)
  MODE_CFLAGS := -O0 -DRN_DEBUG
else ifeq ($(MODE),asan)
  MODE_CFLAGS := -O1 -DRN_DEBUG -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer
  MODE_LDFLAGS := -fsanitize=address,undefined
else
  $(error MODE must be release, debug or asan)
endif

CFLAGS := $(BASE_CFLAGS) $(MODE_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(MODE_LDFLAGS)
# Libraries of the broker itself (compression for tools that print records).
LIBS := -lz -llz4 -lzstd -lsnappy -lmicrohttpd -lm
# The CLI links librdkafka; the broker never does.
CLI_LIBS := -lrdkafka

# Every .c under src/ except the entry points and the CLI goes into the library.
LIB_SRCS := $(filter-out src/server/main.c src/cli/%, $(shell find src -name '*.c' | sort))
CLI_SRCS := $(shell find src/cli -name '*.c' 2>/dev/null | sort)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRCS := $(wildcard tests/unit/helpers/*.c)
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/obj/%.o)
# Shared by every unit test: keep them (make would delete them as intermediates).
.SECONDARY: $(TEST_HELPER_OBJS)
SIM_SRCS := $(wildcard tests/sim/*.c)
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
SIMCTL_SRCS := $(wildcard tests/simctl/*.c)
SIMCTL_OBJS := $(SIMCTL_SRCS:%.c=$(BUILD)/obj/%.o)
SIMREPL_SRCS := $(wildcard tests/simrepl/*.c)
SIMREPL_OBJS := $(SIMREPL_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/unit/helpers/batch_build.o
# The seed runner the simulators share (tests/simlib/seed_runner.h).
SIMBAL_SRCS := $(wildcard tests/simbal/*.c)
SIMBAL_OBJS := $(SIMBAL_SRCS:%.c=$(BUILD)/obj/%.o)
SIMLIB_SRCS := $(wildcard tests/simlib/*.c)
SIMLIB_OBJS := $(SIMLIB_SRCS:%.c=$(BUILD)/obj/%.o)
$(SIM_OBJS) $(SIMCTL_OBJS) $(SIMBAL_OBJS) $(SIMLIB_OBJS): CFLAGS += -Itests
$(SIMREPL_SRCS:%.c=$(BUILD)/obj/%.o): CFLAGS += -Itests -Itests/unit

.PHONY: all clean test unit gen gen-check fuzz format tools
all: $(BUILD)/runnel

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/librunnel.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/runnel: $(BUILD)/obj/src/server/main.o $(CLI_OBJS) $(BUILD)/librunnel.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CLI_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPER_OBJS) $(BUILD)/librunnel.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(TEST_HELPER_OBJS) $(BUILD)/librunnel.a $(LDFLAGS) $(LIBS) -lcmocka

unit: $(UNIT_BINS)

tools: $(BUILD)/runnel unit

test: tools
	MODE=$(MODE) tests/run.sh

# The client interop tests against three Runnel nodes, every topic replicated
# (RUNNEL_TEST_TARGET=cluster, tests/interop/lib/cluster.py). About 6 minutes
# on two cores: not part of `make test`.
CLUSTER_CLIENT_TESTS := test_kcat.py test_librdkafka.py test_python_clients.py test_kafkajs.py \
                        test_java_client.py test_kafka_tools.py test_groups.py test_groups_admin.py \
                        test_groups_static.py test_groups_pending.py test_groups_failover.py \
                        test_compressed_batches.py test_compaction_keys.py test_deprecated_configs.py \
                        test_fetch_sessions.py test_fetch_limits.py test_fetch_deleted.py
.PHONY: test-cluster-clients
test-cluster-clients: $(BUILD)/runnel
	RUNNEL_TEST_TARGET=cluster LAYERS=interop INTEROP_TESTS="$(CLUSTER_CLIENT_TESTS)" \
	  MODE=$(MODE) tests/run.sh

gen:
	python3 tools/codegen/codegen.py $(KAFKA_SCHEMAS) src/proto/gen $(KAFKA_SCHEMAS_NEWER)

gen-check:
	@if [ ! -d "$(KAFKA_SCHEMAS)" ] || [ ! -d "$(KAFKA_SCHEMAS_NEWER)" ]; then \
	  echo "gen-check: schema folder $(KAFKA_SCHEMAS) or $(KAFKA_SCHEMAS_NEWER) absent; skipped"; \
	else \
	  rm -rf $(BUILD)/gen-check && mkdir -p $(BUILD)/gen-check && \
	  python3 tools/codegen/codegen.py $(KAFKA_SCHEMAS) $(BUILD)/gen-check $(KAFKA_SCHEMAS_NEWER) && \
	  diff -r src/proto/gen $(BUILD)/gen-check >/dev/null && echo "gen-check: up to date" || \
	  { echo "gen-check: src/proto/gen differs from the generator's output; run make gen"; exit 1; }; \
	fi

# libFuzzer targets: every tests/fuzz/*.c defines LLVMFuzzerTestOneInput and
# links the library sources compiled with clang into build/fuzz/<name>.
# Run one with e.g. build/fuzz/fuzz_decode tests/fuzz/corpus/fuzz_decode.
FUZZ_CC ?= clang
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_OBJS := $(LIB_SRCS:%.c=build/fuzz/obj/%.o)
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -DRN_DEBUG -DRN_FUZZ -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz/librunnel.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/librunnel.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/librunnel.a -pthread $(LIBS)

fuzz: $(FUZZ_BINS)

format:
	clang-format -i $$(find src tests -name '*.[ch]' -not -path 'src/proto/gen/*')

clean:
	rm -rf build

# Header dependencies of every object: the mode's, and the fuzz build's
# (its own objects, or a changed header leaves them stale).
-include $(shell find build/$(MODE)/obj build/fuzz/obj -name '*.d' 2>/dev/null)

# ---- image ------------------------------------------------------------------
# An OCI image from scratch (deploy/image/build.sh, buildah): the release
# binary and its shared libraries, a non-root user; docs/KUBERNETES.md.
.PHONY: image image-test
image:
	$(MAKE) MODE=release all
	deploy/image/build.sh build/release/runnel

# Not in `make test`: it needs podman and runc, which CI does not install.
image-test: image
	/usr/bin/python3 tests/image/test_image.py

# ---- a local Kubernetes ------------------------------------------------------
# A single-node Kubernetes built from source once (outside the checkout) and
# run as plain processes (tools/k8s/); needs root. Not in `make test`.
.PHONY: k8s-cluster k8s-cluster-down k8s-test
k8s-cluster:
	tools/k8s/up.sh

k8s-cluster-down:
	tools/k8s/down.sh

k8s-test: image
	/usr/bin/python3 tests/k8s/test_k8s.py

# make run: a single-node broker on localhost:9092 with its data in ./data.
.PHONY: run
run: $(BUILD)/runnel
	$(BUILD)/runnel server --set log.dirs=./data $(RUN_ARGS)

# Runs simulator $(1) on each seed of tests/$(1)/found-seeds, the seeds that
# once failed, each kept as the test of its fix.
define RUN_FOUND_SEEDS
	@pass=0; fail=0; \
	for s in $$(grep -o '^[0-9][0-9]*' tests/$(1)/found-seeds); do \
	  if out=$$($(BUILD)/$(1) --seeds 1 --first $$s --jobs 1 --replay "make $(1) SEED=%llu"); \
	  then pass=$$((pass + 1)); else fail=$$((fail + 1)); echo "$$out" | grep -A1 '^FAIL'; fi; \
	done; \
	echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]
endef

# ---- simulator ------------------------------------------------------------
# Deterministic Raft cluster simulation (docs/SIMULATOR.md).
#   make sim SEEDS=N          run seeds 1..N; prints each failure with its replay command
#   make sim SEED=s           replay one seed with a readable trace
#   make sim SEED=s MUTANT=k  the same against planted bug k (see sim-mutants)
#   make sim-soak MINUTES=m   random seeds for a time budget
#   make sim-found            the seeds that once failed (tests/sim/found-seeds)
#   make sim-mutants          each planted Raft bug must be caught within MUTANT_SEEDS seeds
SEEDS ?= 1000
SIM_JOBS ?= 2
MINUTES ?= 1
MUTANT_SEEDS ?= 2000
SIM_RAFT_SRCS := $(wildcard src/raft/*.c)
SIM_MUTANTS := 1:commit_old_term 2:vote_unpersisted 3:stale_append 4:no_truncate \
               5:learner_vote 6:short_log_vote
SIM_MUTANT_IDS := $(foreach m,$(SIM_MUTANTS),$(firstword $(subst :, ,$(m))))
SIM_SELECTED := $(if $(MUTANT),$(BUILD)/mutant-$(MUTANT)/sim,$(BUILD)/sim)

.PHONY: sim sim-soak sim-mutants sim-found
$(BUILD)/sim: $(SIM_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a
	$(CC) $(LDFLAGS) -o $@ $(SIM_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a $(LIBS)

# A mutant links its own Raft objects ahead of the library, so the library's
# correct ones are never pulled in.
define SIM_MUTANT_RULES
$(BUILD)/mutant-$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -DRN_RAFT_MUTANT=$(1) -c $$< -o $$@
$(BUILD)/mutant-$(1)/sim: $(SIM_RAFT_SRCS:%.c=$(BUILD)/mutant-$(1)/obj/%.o) $(SIM_OBJS) $(SIMLIB_OBJS) \
                          $(BUILD)/librunnel.a
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/librunnel.a $$(LIBS)
endef
$(foreach k,$(SIM_MUTANT_IDS),$(eval $(call SIM_MUTANT_RULES,$(k))))

sim: $(SIM_SELECTED)
ifdef SEED
	$(SIM_SELECTED) --seed $(SEED)
else
	$(SIM_SELECTED) --seeds $(SEEDS) --jobs $(SIM_JOBS) \
	  --replay "make sim SEED=%llu$(if $(MUTANT), MUTANT=$(MUTANT))"
endif

sim-soak: $(BUILD)/sim
	$(BUILD)/sim --minutes $(MINUTES) --jobs $(SIM_JOBS)

# Seeds that once failed, each the test of its fix (tests/sim/found-seeds).
sim-found: $(BUILD)/sim
	$(call RUN_FOUND_SEEDS,sim)

sim-mutants: $(foreach k,$(SIM_MUTANT_IDS),$(BUILD)/mutant-$(k)/sim)
	@pass=0; fail=0; \
	for m in $(SIM_MUTANTS); do \
	  k=$${m%%:*}; name=$${m#*:}; \
	  out=$$($(BUILD)/mutant-$$k/sim --seeds $(MUTANT_SEEDS) --until-fail \
	         --name "$$name (MUTANT=$$k)" --jobs $(SIM_JOBS)); rc=$$?; \
	  echo "$$out" | tail -n 1; \
	  if [ $$rc -eq 0 ]; then pass=$$((pass + 1)); else fail=$$((fail + 1)); fi; \
	done; \
	echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# ---- controller simulator -------------------------------------------------
# The real metadata quorum and controller decisions under faults (docs/SIMULATOR.md).
#   make simctl SEEDS=N          run seeds 1..N
#   make simctl SEED=s           replay one seed with a readable trace
#   make simctl SEED=s MUTANT=k  the same against planted controller bug k
#   make simctl-soak MINUTES=m   random seeds for a time budget
#   make simctl-found            the seeds that once failed (tests/simctl/found-seeds)
#   make simctl-mutants          each planted controller bug must be caught within
#                                CTL_MUTANT_SEEDS seeds
CTL_MUTANT_SEEDS ?= 500
SIMCTL_MUTANT_SRCS := src/metadata/controller_brokers.c src/metadata/controller_topics.c \
                      src/metadata/quorum.c
SIMCTL_MUTANTS := 1:fence_keeps_leaders 2:unfence_outside_isr 3:epoch_not_bumped \
                  4:lease_never_expires 5:wiped_voter_votes
SIMCTL_MUTANT_IDS := $(foreach m,$(SIMCTL_MUTANTS),$(firstword $(subst :, ,$(m))))
SIMCTL_SELECTED := $(if $(MUTANT),$(BUILD)/ctl-mutant-$(MUTANT)/simctl,$(BUILD)/simctl)

.PHONY: simctl simctl-soak simctl-mutants simctl-found
$(BUILD)/simctl: $(SIMCTL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a
	$(CC) $(LDFLAGS) -o $@ $(SIMCTL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a $(LIBS)

# As for the Raft mutants: the planted controller objects go ahead of the library.
define SIMCTL_MUTANT_RULES
$(BUILD)/ctl-mutant-$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -DRN_CTL_MUTANT=$(1) -c $$< -o $$@
$(BUILD)/ctl-mutant-$(1)/simctl: $(SIMCTL_MUTANT_SRCS:%.c=$(BUILD)/ctl-mutant-$(1)/obj/%.o) \
                                 $(SIMCTL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/librunnel.a $$(LIBS)
endef
$(foreach k,$(SIMCTL_MUTANT_IDS),$(eval $(call SIMCTL_MUTANT_RULES,$(k))))

simctl: $(SIMCTL_SELECTED)
ifdef SEED
	$(SIMCTL_SELECTED) --seed $(SEED)
else
	$(SIMCTL_SELECTED) --seeds $(SEEDS) --jobs $(SIM_JOBS) \
	  --replay "make simctl SEED=%llu$(if $(MUTANT), MUTANT=$(MUTANT))"
endif

simctl-soak: $(BUILD)/simctl
	$(BUILD)/simctl --minutes $(MINUTES) --jobs $(SIM_JOBS)

# Seeds that once failed, each the test of its fix (tests/simctl/found-seeds).
simctl-found: $(BUILD)/simctl
	$(call RUN_FOUND_SEEDS,simctl)

simctl-mutants: $(foreach k,$(SIMCTL_MUTANT_IDS),$(BUILD)/ctl-mutant-$(k)/simctl)
	@pass=0; fail=0; \
	for m in $(SIMCTL_MUTANTS); do \
	  k=$${m%%:*}; name=$${m#*:}; \
	  out=$$($(BUILD)/ctl-mutant-$$k/simctl --seeds $(CTL_MUTANT_SEEDS) --until-fail \
	         --name "$$name (MUTANT=$$k)" --jobs $(SIM_JOBS)); rc=$$?; \
	  echo "$$out" | tail -n 1; \
	  if [ $$rc -eq 0 ]; then pass=$$((pass + 1)); else fail=$$((fail + 1)); fi; \
	done; \
	echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# ---- replication simulator ------------------------------------------------
# The real partition, replication and controller code of several brokers under
# faults (docs/SIMULATOR.md).
#   make simrepl SEEDS=N          run seeds 1..N
#   make simrepl SEED=s           replay one seed with a readable trace
#   make simrepl SEED=s MUTANT=k  the same against planted replication bug k
#   make simrepl-soak MINUTES=m   random seeds for a time budget
#   make simrepl-found            the seeds that once failed (tests/simrepl/found-seeds)
#   make simrepl-mutants          each planted bug must be caught within REPL_MUTANT_SEEDS seeds
REPL_MUTANT_SEEDS ?= 300
# A mutant k: its sources compiled with its flag, linked ahead of the library.
SIMREPL_MUTANTS := 1:hw_leader_alone 2:no_truncate 3:leader_outside_isr 4:followers_by_slot \
                   5:reassign_before_sync
SIMREPL_MUTANT_IDS := $(foreach m,$(SIMREPL_MUTANTS),$(firstword $(subst :, ,$(m))))
SIMREPL_MUTANT_SRCS_1 := src/partition/replicas.c
SIMREPL_MUTANT_FLAGS_1 := -DRN_REPL_MUTANT=1
SIMREPL_MUTANT_SRCS_2 := src/replication/follower.c
SIMREPL_MUTANT_FLAGS_2 := -DRN_REPL_MUTANT=2
# An out-of-ISR replica elected leader: the controller's planted bug 2.
SIMREPL_MUTANT_SRCS_3 := src/metadata/controller_brokers.c
SIMREPL_MUTANT_FLAGS_3 := -DRN_CTL_MUTANT=2
SIMREPL_MUTANT_SRCS_4 := src/partition/replicas.c
SIMREPL_MUTANT_FLAGS_4 := -DRN_REPL_MUTANT=3
# A reassignment completed before its new replicas are in sync: the controller's planted bug 6.
SIMREPL_MUTANT_SRCS_5 := src/metadata/controller_reassign.c
SIMREPL_MUTANT_FLAGS_5 := -DRN_CTL_MUTANT=6
SIMREPL_SELECTED := $(if $(MUTANT),$(BUILD)/repl-mutant-$(MUTANT)/simrepl,$(BUILD)/simrepl)

.PHONY: simrepl simrepl-soak simrepl-mutants simrepl-found
$(BUILD)/simrepl: $(SIMREPL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a
	$(CC) $(LDFLAGS) -o $@ $(SIMREPL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a $(LIBS)

define SIMREPL_MUTANT_RULES
$(BUILD)/repl-mutant-$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(SIMREPL_MUTANT_FLAGS_$(1)) -c $$< -o $$@
$(BUILD)/repl-mutant-$(1)/simrepl: $(SIMREPL_MUTANT_SRCS_$(1):%.c=$(BUILD)/repl-mutant-$(1)/obj/%.o) \
                                  $(SIMREPL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/librunnel.a $$(LIBS)
endef
$(foreach k,$(SIMREPL_MUTANT_IDS),$(eval $(call SIMREPL_MUTANT_RULES,$(k))))

simrepl: $(SIMREPL_SELECTED)
ifdef SEED
	$(SIMREPL_SELECTED) --seed $(SEED)
else
	$(SIMREPL_SELECTED) --seeds $(SEEDS) --jobs $(SIM_JOBS) \
	  --replay "make simrepl SEED=%llu$(if $(MUTANT), MUTANT=$(MUTANT))"
endif

simrepl-soak: $(BUILD)/simrepl
	$(BUILD)/simrepl --minutes $(MINUTES) --jobs $(SIM_JOBS)

# Seeds that once failed, each the test of its fix (tests/simrepl/found-seeds).
simrepl-found: $(BUILD)/simrepl
	$(call RUN_FOUND_SEEDS,simrepl)

simrepl-mutants: $(foreach k,$(SIMREPL_MUTANT_IDS),$(BUILD)/repl-mutant-$(k)/simrepl)
	@pass=0; fail=0; \
	for m in $(SIMREPL_MUTANTS); do \
	  k=$${m%%:*}; name=$${m#*:}; \
	  out=$$($(BUILD)/repl-mutant-$$k/simrepl --seeds $(REPL_MUTANT_SEEDS) --until-fail \
	         --name "$$name (MUTANT=$$k)" --jobs $(SIM_JOBS)); rc=$$?; \
	  echo "$$out" | tail -n 1; \
	  if [ $$rc -eq 0 ]; then pass=$$((pass + 1)); else fail=$$((fail + 1)); fi; \
	done; \
	echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# ---- balance simulator ----------------------------------------------------
# The balancer's planner on random clusters, planned and applied until it
# plans nothing, every plan checked (docs/SIMULATOR.md, docs/BALANCING.md).
#   make simbal SEEDS=N          run seeds 1..N
#   make simbal SEED=s           replay one seed with a readable trace
#   make simbal SEED=s MUTANT=k  the same against planted planner bug k
#   make simbal-soak MINUTES=m   random seeds for a time budget
#   make simbal-mutants          each planted planner bug must be caught within
#                                BAL_MUTANT_SEEDS seeds
BAL_MUTANT_SEEDS ?= 200
SIMBAL_MUTANT_SRCS := src/metadata/balance_check.c src/metadata/balance_plan.c
SIMBAL_MUTANTS := 1:ignores_racks 2:ignores_disk_ceiling 3:ignores_bound 4:no_hysteresis \
                  5:drained_receives
SIMBAL_MUTANT_IDS := $(foreach m,$(SIMBAL_MUTANTS),$(firstword $(subst :, ,$(m))))
SIMBAL_SELECTED := $(if $(MUTANT),$(BUILD)/bal-mutant-$(MUTANT)/simbal,$(BUILD)/simbal)

.PHONY: simbal simbal-soak simbal-mutants
$(BUILD)/simbal: $(SIMBAL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a
	$(CC) $(LDFLAGS) -o $@ $(SIMBAL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a $(LIBS)

# As for the other simulators: the planted planner objects go ahead of the library.
define SIMBAL_MUTANT_RULES
$(BUILD)/bal-mutant-$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -DRN_BAL_MUTANT=$(1) -c $$< -o $$@
$(BUILD)/bal-mutant-$(1)/simbal: $(SIMBAL_MUTANT_SRCS:%.c=$(BUILD)/bal-mutant-$(1)/obj/%.o) \
                                 $(SIMBAL_OBJS) $(SIMLIB_OBJS) $(BUILD)/librunnel.a
	$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(BUILD)/librunnel.a $$(LIBS)
endef
$(foreach k,$(SIMBAL_MUTANT_IDS),$(eval $(call SIMBAL_MUTANT_RULES,$(k))))

simbal: $(SIMBAL_SELECTED)
ifdef SEED
	$(SIMBAL_SELECTED) --seed $(SEED)
else
	$(SIMBAL_SELECTED) --seeds $(SEEDS) --jobs $(SIM_JOBS) \
	  --replay "make simbal SEED=%llu$(if $(MUTANT), MUTANT=$(MUTANT))"
endif

simbal-soak: $(BUILD)/simbal
	$(BUILD)/simbal --minutes $(MINUTES) --jobs $(SIM_JOBS)

simbal-mutants: $(foreach k,$(SIMBAL_MUTANT_IDS),$(BUILD)/bal-mutant-$(k)/simbal)
	@pass=0; fail=0; \
	for m in $(SIMBAL_MUTANTS); do \
	  k=$${m%%:*}; name=$${m#*:}; \
	  out=$$($(BUILD)/bal-mutant-$$k/simbal --seeds $(BAL_MUTANT_SEEDS) --until-fail \
	         --name "$$name (MUTANT=$$k)" --jobs $(SIM_JOBS)); rc=$$?; \
	  echo "$$out" | tail -n 1; \
	  if [ $$rc -eq 0 ]; then pass=$$((pass + 1)); else fail=$$((fail + 1)); fi; \
	done; \
	echo "$$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# ---- cluster figures --------------------------------------------------------
# Three nodes, a stream of topic creations, the active controller SIGKILLed
# and restarted ROUNDS times: prints failover times, fails on lost metadata.
#   make cluster-kill-loop [ROUNDS=20] [TARGET=runnel|kafka] [KILL_LOOP_ARGS=...]
ROUNDS ?= 20
TARGET ?= runnel
PYTHON ?= /usr/bin/python3
.PHONY: cluster-kill-loop
cluster-kill-loop: $(if $(filter runnel,$(TARGET)),$(BUILD)/runnel)
	RUNNEL_BIN=$(or $(RUNNEL_BIN),$(BUILD)/runnel) $(PYTHON) tests/bench/cluster_kill_loop.py \
	  --target $(TARGET) --rounds $(ROUNDS) $(KILL_LOOP_ARGS)

# The replication verifier (tests/bench/replication_verify.py): leader
# kills, a rolling restart and a crash of all three nodes under an
# idempotent acks=all producer and a committing consumer group; every
# acknowledgement and commit checked. Exit 1 on a problem.
#   make replication-verify [KILLS=50] [VERIFY_ARGS=...]
#   make replication-verify-mutant  the same against a broker built with the
#                        planted bug "the high watermark from the leader alone"
#                        (RN_REPL_MUTANT=1): the verifier must report a loss
KILLS ?= 50
.PHONY: replication-verify replication-verify-mutant
replication-verify: $(BUILD)/runnel
	RUNNEL_BIN=$(or $(RUNNEL_BIN),$(BUILD)/runnel) $(PYTHON) tests/bench/replication_verify.py \
	  --kills $(KILLS) $(VERIFY_ARGS)

# The mutant broker links its own replicas.o ahead of the library, as the
# simulators' mutants do.
$(BUILD)/verify-mutant/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DRN_REPL_MUTANT=1 -c $< -o $@
$(BUILD)/verify-mutant/runnel: $(BUILD)/verify-mutant/obj/src/partition/replicas.o \
                               $(BUILD)/obj/src/server/main.o $(CLI_OBJS) $(BUILD)/librunnel.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/librunnel.a $(LIBS) $(CLI_LIBS)

# The balancer under load: a fourth broker joins three holding --gb GB on
# 300 partitions, then scale --brokers 3 drains it, under the verifier's
# producer and group (docs/BALANCING.md). Figures printed; exit 1 on a loss.
#   make balance-verify [BALANCE_ARGS='--gb 3 --partitions 300']
.PHONY: balance-verify
balance-verify: $(BUILD)/runnel
	RUNNEL_BIN=$(or $(RUNNEL_BIN),$(BUILD)/runnel) $(PYTHON) tests/bench/balance_verify.py \
	  $(BALANCE_ARGS)

replication-verify-mutant: $(BUILD)/verify-mutant/runnel
	@if RUNNEL_BIN=$(BUILD)/verify-mutant/runnel $(PYTHON) tests/bench/replication_verify.py \
	  --kills 0 --rolls 0 --crashes 0 --freezes 5 $(VERIFY_ARGS); then \
	  echo "planted bug NOT caught: the verifier saw no loss"; exit 1; \
	else echo "planted bug caught: the verifier reported the loss above"; fi

# Replication on 3 nodes, Runnel then Kafka 3.9 with the same clients:
# produce and consume throughput, CPU per record, latency at a fixed rate,
# unavailability after a leader SIGKILL (ROUNDS rounds). Its client is
# `runnel bench`, so it needs the binary whatever the target.
#   make bench-replication [TARGET=both|runnel|kafka] [ROUNDS=20] [REPL_BENCH_ARGS=...]
.PHONY: bench-replication
bench-replication: $(BUILD)/runnel
	RUNNEL_BIN=$(or $(RUNNEL_BIN),$(BUILD)/runnel) $(PYTHON) tests/bench/replication.py \
	  --target $(if $(filter file,$(origin TARGET)),both,$(TARGET)) --rounds $(ROUNDS) \
	  $(REPL_BENCH_ARGS)
