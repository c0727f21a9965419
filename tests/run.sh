#!/usr/bin/env bash
# The whole test suite, every layer, one summary. `make test` runs it with MODE
# set (release by default); it can also be run directly from the repository root.
#
#   unit      build/$MODE/tests/test_*            (cmocka, TAP output)
#   asan      make MODE=asan unit, then build/asan/tests/test_*
#   sim       make sim SEEDS=$SIM_SEEDS, make sim-found, make sim-mutants
#             [MUTANT_SEEDS=$MUTANT_SEEDS]
#   simctl    make simctl SEEDS=$SIMCTL_SEEDS, make simctl-found, make simctl-mutants
#             CTL_MUTANT_SEEDS=$CTL_MUTANT_SEEDS (the controller under faults)
#   simrepl   make simrepl SEEDS=$SIMREPL_SEEDS, make simrepl-found, make simrepl-mutants
#             REPL_MUTANT_SEEDS=$REPL_MUTANT_SEEDS (replication under faults)
#   simbal    make simbal SEEDS=$SIMBAL_SEEDS, make simbal-mutants
#             BAL_MUTANT_SEEDS=$BAL_MUTANT_SEEDS (the balancer's planner)
#             (when those targets exist; their last line is `N passed, M failed`)
#   fuzz      make fuzz; per target in build/fuzz/: replay tests/fuzz/corpus/<target>/,
#             then fuzz for $FUZZ_SECONDS (when the target exists)
#   interop   tests/interop/test_*.py under /usr/bin/python3 against build/$MODE/runnel,
#             and the files named in tests/interop/ASAN_TESTS against build/asan/runnel
#
# Environment:
#   MODE=release|debug|asan    build whose unit tests and broker are tested
#   LAYERS="unit asan sim simctl simrepl simbal fuzz interop"   which layers to run (default: all)
#   RUNNEL_TEST_TARGET=kafka   run the interop layer against Apache Kafka instead
#   RUNNEL_TEST_TARGET=cluster run it against three Runnel nodes (the client tests;
#                              the others skip: `make test-cluster-clients`)
#   INTEROP_TESTS="test_kcat.py ..."      run only these interop files
#   SIM_SEEDS (1000), MUTANT_SEEDS (the Makefile's), SIMCTL_SEEDS (1000), CTL_MUTANT_SEEDS (200),
#   SIMREPL_SEEDS (1000), REPL_MUTANT_SEEDS (300), SIMBAL_SEEDS (300), BAL_MUTANT_SEEDS (200),
#   FUZZ_SECONDS (10), FUZZ_BUDGET_S (300)
#   UNIT_TIMEOUT_S (300), INTEROP_TIMEOUT_S (900), STEP_TIMEOUT_S (1200)
#
# A layer whose prerequisites are missing is reported as skipped, never as
# passed. The last line is `N passed, M failed`; the exit status is non-zero if
# anything failed, including a runner step (a build, a crash, a timeout).
set -u

cd "$(dirname "$0")/.."
ROOT=$(pwd)

MODE=${MODE:-release}
LAYERS=${LAYERS:-unit asan sim simctl simrepl simbal fuzz interop}
SIM_SEEDS=${SIM_SEEDS:-1000}
MUTANT_SEEDS=${MUTANT_SEEDS:-200}  # every planted bug is caught within about 15 seeds
SIMCTL_SEEDS=${SIMCTL_SEEDS:-1000}
CTL_MUTANT_SEEDS=${CTL_MUTANT_SEEDS:-200} # every planted controller bug is caught within 10 seeds
SIMREPL_SEEDS=${SIMREPL_SEEDS:-1000}        # a few seconds on one core
REPL_MUTANT_SEEDS=${REPL_MUTANT_SEEDS:-300} # every planted replication bug is caught within 30 seeds
SIMBAL_SEEDS=${SIMBAL_SEEDS:-300}         # about 10 s on two cores, with the planted bugs
BAL_MUTANT_SEEDS=${BAL_MUTANT_SEEDS:-200} # every planted planner bug is caught within 10 seeds
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
FUZZ_BUDGET_S=${FUZZ_BUDGET_S:-300}
UNIT_TIMEOUT_S=${UNIT_TIMEOUT_S:-300}
INTEROP_TIMEOUT_S=${INTEROP_TIMEOUT_S:-900}
# test_flood.py's flood: half its own default in the suite, which the CI
# bound (30 minutes on two cores) has room for; FLOOD_S=60 runs it whole.
export FLOOD_S=${FLOOD_S:-30}
STEP_TIMEOUT_S=${STEP_TIMEOUT_S:-1200}
PYTHON=${PYTHON:-/usr/bin/python3}
TARGET=${RUNNEL_TEST_TARGET:-runnel}
LOGS=build/test-logs

mkdir -p "$LOGS"
PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
NOTES=()
SUITE_START=$(date +%s)

say() { printf '%s\n' "$*"; }
banner() { say ""; say "======== $* ========"; }
has_layer() { case " $LAYERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
skip_note() { NOTES+=("$1"); say "-- skipped: $1"; }
fail_step() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); say "-- FAILED: $1"; }

# Does the Makefile have this target?
make_has() { ! make -n "$1" 2>&1 | grep -q "No rule to make target '$1'"; }

# count_tap NAME LOG RC: fold a TAP (or cmocka, or `N passed, M failed`) log into
# the totals. A non-zero exit with no failed point is itself a failure.
count_tap() {
  local name=$1 log=$2 rc=$3 p f s line
  p=$(grep -cE '^ok [0-9]+' "$log")
  s=$(grep -ciE '^ok [0-9]+.*# *skip' "$log")
  f=$(grep -E '^not ok [0-9]+' "$log" | grep -cviE '# *todo')
  p=$((p - s))
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
    # No TAP: cmocka's own summary, or a plain `N passed, M failed` line.
    # (one summary per cmocka group: add them up)
    p=$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' "$log" | awk '{n += $1} END {print n + 0}')
    f=$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' "$log" | awk '{n += $1} END {print n + 0}')
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
      line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
      if [ -n "$line" ]; then
        p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
      fi
    fi
  fi
  PASSED=$((PASSED + p))
  SKIPPED=$((SKIPPED + s))
  FAILED=$((FAILED + f))
  while IFS= read -r line; do
    FAILURES+=("$name: ${line#not ok }")
  done < <(grep -E '^not ok [0-9]+' "$log" | grep -viE '# *todo' | head -50)
  if [ "$f" -gt 0 ] && ! grep -qE '^not ok [0-9]+' "$log"; then
    FAILURES+=("$name: $f failed (see $log)")
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      fail_step "$name: timed out"
    else
      fail_step "$name: exited with status $rc and no failed test point"
    fi
  elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
    fail_step "$name: ran no test"
  fi
  local skipped_note=""
  [ "$s" -eq 0 ] || skipped_note=", $s skipped"
  say "-- $name: $p passed, $f failed$skipped_note (exit $rc)"
}

# run_logged NAME TIMEOUT CMD...: run with a timeout, output to screen and log.
# Sets RC and LOG.
run_logged() {
  local name=$1 secs=$2
  shift 2
  LOG=$LOGS/$(tr '/ ' '__' <<<"$name").log
  say ""
  say "---- $name"
  local t0=$SECONDS
  timeout -k 10 "$secs" "$@" 2>&1 | tee "$LOG"
  RC=${PIPESTATUS[0]}
  say "---- $name: $((SECONDS - t0))s"
}

# run_quiet NAME TIMEOUT CMD...: as run_logged, output only to the log; its
# tail is printed when the command fails.
run_quiet() {
  local name=$1 secs=$2
  shift 2
  LOG=$LOGS/$(tr '/ ' '__' <<<"$name").log
  local t0=$SECONDS
  timeout -k 10 "$secs" "$@" >"$LOG" 2>&1
  RC=$?
  if [ "$RC" -ne 0 ]; then
    say "---- $name failed (exit $RC) after $((SECONDS - t0))s; last lines of $LOG:"
    tail -40 "$LOG"
  else
    say "---- $name: ok ($((SECONDS - t0))s)"
  fi
}

run_unit_dir() { # LAYER_NAME DIR
  local layer=$1 dir=$2 bin found=0
  for bin in "$dir"/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    found=1
    CMOCKA_MESSAGE_OUTPUT=TAP run_logged "$layer/$(basename "$bin")" "$UNIT_TIMEOUT_S" "$bin"
    count_tap "$layer/$(basename "$bin")" "$LOG" "$RC"
  done
  [ "$found" -eq 1 ] || skip_note "$layer: no unit test binaries in $dir (no tests/unit/test_*.c yet)"
}

# -- unit ---------------------------------------------------------------------
layer_unit() {
  banner "unit tests ($MODE)"
  if ! ls tests/unit/test_*.c >/dev/null 2>&1; then
    skip_note "unit: no tests/unit/test_*.c yet"
    return
  fi
  run_quiet "unit: make MODE=$MODE unit" "$STEP_TIMEOUT_S" make -j"$(nproc)" MODE="$MODE" unit
  [ "$RC" -eq 0 ] || { fail_step "unit: make MODE=$MODE unit"; return; }
  run_unit_dir unit "build/$MODE/tests"
  gen_check
  format_check
}

# Every hand-written C file is as clang-format (.clang-format) writes it.
format_check() {
  if ! command -v clang-format >/dev/null; then
    skip_note "format: clang-format not installed"
    return
  fi
  local bad=()
  while IFS= read -r f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done < <(git ls-files 'src/*.[ch]' 'tests/*.[ch]' | grep -v '^src/proto/gen/')
  if [ "${#bad[@]}" -eq 0 ]; then
    PASSED=$((PASSED + 1)); say "-- format: clang-format clean"
  else
    say "-- format: ${bad[*]}"; fail_step "format: ${#bad[@]} file(s) differ from clang-format (make format)"
  fi
}

# The committed codec must be what the generator writes from the schemas.
gen_check() {
  local out
  out=$(make -s gen-check 2>&1)
  case "$out" in
    *"up to date"*) PASSED=$((PASSED + 1)); say "-- gen-check: $out" ;;
    *"absent; skipped"*) skip_note "gen-check: $out" ;;
    *) say "$out"; fail_step "gen-check: the committed codec differs from the generator's output" ;;
  esac
}

# -- asan ------------------------------------------------------------------------
ASAN_BROKER_OK=0
layer_asan() {
  banner "ASan + UBSan build"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  if [ -f src/server/main.c ]; then
    run_quiet "asan: make MODE=asan" "$STEP_TIMEOUT_S" make -j"$(nproc)" MODE=asan
    if [ "$RC" -eq 0 ]; then ASAN_BROKER_OK=1; else fail_step "asan: make MODE=asan (broker)"; fi
  else
    skip_note "asan: no broker entry point (src/server/main.c) yet"
  fi
  if ! ls tests/unit/test_*.c >/dev/null 2>&1; then
    skip_note "asan: no tests/unit/test_*.c yet"
    return
  fi
  run_quiet "asan: make MODE=asan unit" "$STEP_TIMEOUT_S" make -j"$(nproc)" MODE=asan unit
  [ "$RC" -eq 0 ] || { fail_step "asan: make MODE=asan unit"; return; }
  run_unit_dir asan build/asan/tests
}

# -- simulator ---------------------------------------------------------------------
run_make_suite() { # NAME TARGET ARGS...: a make target whose last line is `N passed, M failed`
  local name=$1 tgt=$2
  shift 2
  if ! make_has "$tgt"; then
    skip_note "$name: no 'make $tgt' target yet"
    return
  fi
  run_logged "$name: make $tgt $*" "$STEP_TIMEOUT_S" make MODE="$MODE" "$tgt" "$@"
  if grep -qE '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$LOG"; then
    local line p f
    line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$LOG" | tail -1)
    p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    [ "$f" -eq 0 ] || FAILURES+=("$name: $f failed (see $LOG for seeds)")
    [ "$RC" -eq 0 ] || [ "$f" -gt 0 ] || fail_step "$name: make $tgt exited with status $RC"
    say "-- $name: $p passed, $f failed (exit $RC)"
  else
    fail_step "$name: make $tgt printed no 'N passed, M failed' line (exit $RC)"
  fi
}

layer_sim() {
  banner "simulator"
  run_make_suite sim sim SEEDS="$SIM_SEEDS"
  run_make_suite sim-found sim-found
  if [ -n "$MUTANT_SEEDS" ]; then
    run_make_suite sim-mutants sim-mutants MUTANT_SEEDS="$MUTANT_SEEDS"
  else
    run_make_suite sim-mutants sim-mutants
  fi
}

layer_simctl() {
  banner "controller simulator"
  run_make_suite simctl simctl SEEDS="$SIMCTL_SEEDS"
  run_make_suite simctl-found simctl-found
  run_make_suite simctl-mutants simctl-mutants CTL_MUTANT_SEEDS="$CTL_MUTANT_SEEDS"
}

layer_simrepl() {
  banner "replication simulator"
  run_make_suite simrepl simrepl SEEDS="$SIMREPL_SEEDS"
  run_make_suite simrepl-found simrepl-found
  run_make_suite simrepl-mutants simrepl-mutants REPL_MUTANT_SEEDS="$REPL_MUTANT_SEEDS"
}

layer_simbal() {
  banner "balance simulator"
  run_make_suite simbal simbal SEEDS="$SIMBAL_SEEDS"
  run_make_suite simbal-mutants simbal-mutants BAL_MUTANT_SEEDS="$BAL_MUTANT_SEEDS"
}

# -- fuzz --------------------------------------------------------------------------------
layer_fuzz() {
  banner "fuzz: corpus replay and a brief run per target"
  if ! make_has fuzz; then
    skip_note "fuzz: no 'make fuzz' target"
    return
  fi
  run_quiet "fuzz: make fuzz" "$STEP_TIMEOUT_S" make -j"$(nproc)" fuzz
  [ "$RC" -eq 0 ] || { fail_step "fuzz: make fuzz"; return; }
  local targets=() f
  for f in build/fuzz/*; do
    [ -f "$f" ] && [ -x "$f" ] && targets+=("$f")
  done
  if [ "${#targets[@]}" -eq 0 ]; then
    skip_note "fuzz: make fuzz built no targets into build/fuzz/"
    return
  fi
  local secs=$FUZZ_SECONDS
  if [ $((secs * ${#targets[@]})) -gt "$FUZZ_BUDGET_S" ]; then
    secs=$((FUZZ_BUDGET_S / ${#targets[@]}))
    [ "$secs" -ge 2 ] || secs=2
    say "-- ${#targets[@]} targets: ${secs}s of fuzzing each (FUZZ_BUDGET_S=$FUZZ_BUDGET_S)"
  fi
  mkdir -p build/fuzz-work
  local bin name corpus work
  for bin in "${targets[@]}"; do
    name=$(basename "$bin")
    corpus=tests/fuzz/corpus/$name
    work=build/fuzz-work/$name
    rm -rf "$work" && mkdir -p "$work"
    if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ]; then
      run_quiet "fuzz/$name: replay corpus" 600 "$bin" -runs=0 -rss_limit_mb=2048 \
        -artifact_prefix="$work/" "$corpus"
      if [ "$RC" -eq 0 ]; then PASSED=$((PASSED + 1)); else fail_step "fuzz/$name: corpus replay"; fi
    else
      skip_note "fuzz/$name: no corpus in $corpus"
    fi
    local seeds=()
    [ -d "$corpus" ] && seeds=("$corpus")
    run_quiet "fuzz/$name: ${secs}s" $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" "$work" "${seeds[@]}"
    if [ "$RC" -eq 0 ]; then
      PASSED=$((PASSED + 1))
    else
      fail_step "fuzz/$name: fuzzing found a failure (artifacts in $work)"
    fi
  done
}

# -- interop -------------------------------------------------------------------------------
run_interop() { # LAYER_NAME RUNNEL_BIN FILES...
  local layer=$1 rbin=$2 f
  shift 2
  for f in "$@"; do
    RUNNEL_TEST_TARGET=$TARGET RUNNEL_BIN=$rbin \
      run_logged "$layer/$(basename "$f")" "$INTEROP_TIMEOUT_S" "$PYTHON" "$f"
    count_tap "$layer/$(basename "$f")" "$LOG" "$RC"
  done
}

layer_interop() {
  banner "interop tests (target: $TARGET)"
  local files=() f
  if [ -n "${INTEROP_TESTS:-}" ]; then
    for f in $INTEROP_TESTS; do files+=("tests/interop/${f##*/}"); done
  else
    for f in tests/interop/test_*.py; do [ -f "$f" ] && files+=("$f"); done
  fi
  if [ "${#files[@]}" -eq 0 ]; then
    skip_note "interop: no tests/interop/test_*.py"
    return
  fi
  if [ ! -x "$PYTHON" ]; then
    fail_step "interop: $PYTHON not found"
    return
  fi
  if [ "$TARGET" != kafka ] && [ ! -x "build/$MODE/runnel" ]; then
    fail_step "interop: build/$MODE/runnel not built (make MODE=$MODE)"
    return
  fi
  run_interop interop "$ROOT/build/$MODE/runnel" "${files[@]}"

  if [ "$TARGET" != runnel ]; then
    skip_note "interop-asan: run for RUNNEL_TEST_TARGET=runnel only (not $TARGET)"
    return
  fi
  if [ ! -f tests/interop/ASAN_TESTS ]; then
    skip_note "interop-asan: no tests/interop/ASAN_TESTS"
    return
  fi
  local asan_files=() name
  while read -r name _; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ -n "${INTEROP_TESTS:-}" ] && [[ " $INTEROP_TESTS " != *" $name "* ]]; then continue; fi
    if [ -f "tests/interop/$name" ]; then
      asan_files+=("tests/interop/$name")
    else
      fail_step "interop-asan: $name listed in ASAN_TESTS but missing"
    fi
  done <tests/interop/ASAN_TESTS
  [ "${#asan_files[@]}" -gt 0 ] || return
  if [ ! -x build/asan/runnel ]; then
    if has_layer asan; then
      fail_step "interop-asan: build/asan/runnel not built"
      return
    fi
    run_quiet "interop-asan: make MODE=asan" "$STEP_TIMEOUT_S" make -j"$(nproc)" MODE=asan
    [ "$RC" -eq 0 ] || { fail_step "interop-asan: make MODE=asan"; return; }
  fi
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_interop interop-asan "$ROOT/build/asan/runnel" "${asan_files[@]}"
}

# -- main -----------------------------------------------------------------------------------
for layer in unit asan sim simctl simrepl simbal fuzz interop; do
  if has_layer "$layer"; then
    "layer_$layer"
  else
    skip_note "$layer: not selected (LAYERS=$LAYERS)"
  fi
done

banner "summary ($(($(date +%s) - SUITE_START))s)"
for n in "${NOTES[@]+"${NOTES[@]}"}"; do say "skipped: $n"; done
[ "$SKIPPED" -eq 0 ] || say "skipped test points: $SKIPPED"
if [ "${#FAILURES[@]}" -gt 0 ]; then
  say "failures:"
  for n in "${FAILURES[@]}"; do say "  $n"; done
fi
say "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
