# Runnel build: one entry point.
#
#   make                 release build of build/release/runnel
#   make MODE=debug      debug build (assertions plus RN_DEBUG checks)
#   make MODE=asan       ASan + UBSan build
#   make test            unit, simulator, fuzz-replay and interop tests (see tests/run.sh)
#   make gen | gen-check regenerate the protocol codec | check it is current
#   make fuzz            build libFuzzer targets (clang)
#   make format          clang-format every source file

MODE ?= release
CC ?= cc
BUILD := build/$(MODE)
KAFKA_SCHEMAS ?= ../shared/kafka-protocol/messages

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
SIM_SRCS := $(wildcard tests/sim/*.c)
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)

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

gen:
	python3 tools/codegen/codegen.py $(KAFKA_SCHEMAS) src/proto/gen

gen-check:
	@if [ ! -d "$(KAFKA_SCHEMAS)" ]; then \
	  echo "gen-check: schema folder $(KAFKA_SCHEMAS) absent; skipped"; \
	else \
	  rm -rf $(BUILD)/gen-check && mkdir -p $(BUILD)/gen-check && \
	  python3 tools/codegen/codegen.py $(KAFKA_SCHEMAS) $(BUILD)/gen-check && \
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

-include $(shell find build/$(MODE)/obj -name '*.d' 2>/dev/null)

# make run: a single-node broker on localhost:9092 with its data in ./data.
.PHONY: run
run: $(BUILD)/runnel
	$(BUILD)/runnel server --set log.dirs=./data $(RUN_ARGS)
