#!/usr/bin/env bash
# Fuzzes the input decoders with libFuzzer for a bounded time per target: the HTTP/1.1 parser
# (whole and in random chunks), gzip/deflate bodies through the parser, the JSON parser, batch
# ingestion decoding and validation, the OTLP protobuf and OTLP/JSON decoders with the OTLP
# mapper, and well-formed requests with extreme numbers and dates through validation, merge and
# session analysis (Sources/ParleyFuzz/FuzzTarget.swift says what each one checks).
#
#   scripts/reliability/fuzz.sh                  # every target, 60 s each
#   scripts/reliability/fuzz.sh 300 http json     # chosen targets, 5 minutes each
#   PARLEY_FUZZ_WORK=/tmp/fz scripts/reliability/fuzz.sh 30   # keep the work directory there
#
# The binary is a separate instrumented build (-sanitize=fuzzer,address, stdlib bounds checks
# kept by -assert-config Debug) in .build-fuzz; the normal build is untouched. SwiftPM links
# executables with `--defsym main=<module>_main`, which clashes with libFuzzer's own main under
# gold, so this build links with lld and parley-fuzz starts libFuzzer itself
# (LLVMFuzzerRunDriver). Each target starts from a fresh copy of its seed corpus in
# scripts/reliability/fuzz/corpus; crash inputs are saved in the work directory and listed.
# Reproduce one with the normal build: swift build --product parley-fuzz &&
# .build/debug/parley-fuzz <target> <crash file>.
#
# First a control target with a planted crash must be caught (`CONTROL status=caught`). Then for
# each target a line `RESULT target=… status=… execs=… execs_per_sec=… cov=… ft=… corpus=…
# crashes=…` is printed for scripts/reliability/check_fuzz.py, then a summary table. Exits 1
# when the control was missed or a target crashed, hung or ran no input; 2 when the build failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

seconds=60
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
all_targets=(http http-gzip json ingestion otlp-protobuf otlp-json extreme-values model-pattern)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# Memory per fuzzing process, ASan's shadow included; an input that needs more is reported as
# an out-of-memory crash (oom-*).
rss_limit_mb=2048
# One input taking longer than this is a hang (timeout-*); the slowest seeds take milliseconds.
input_timeout=10

work=${PARLEY_FUZZ_WORK:-$(mktemp -d /tmp/parley-fuzz.XXXXXX)}
mkdir -p "$work"
build_path=.build-fuzz
binary=$build_path/release/parley-fuzz
corpus_root=scripts/reliability/fuzz/corpus

echo "== building parley-fuzz (libFuzzer + ASan) in $build_path; log: $work/build.log"
if ! swift build --build-path "$build_path" -c release --product parley-fuzz \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
        -Xswiftc -assert-config -Xswiftc Debug \
        -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld >"$work/build.log" 2>&1; then
    reason=$(grep -m1 -E "error:" "$work/build.log" | cut -c1-300)
    [ -n "$reason" ] || reason=$(tail -n 1 "$work/build.log" | cut -c1-300)
    echo "fuzz: build failed: $reason"
    tail -n 20 "$work/build.log"
    for target in "${targets[@]}"; do
        echo "RESULT target=$target status=build-failed execs=0 execs_per_sec=0 cov=0 ft=0 corpus=0 crashes=0 reason=$reason"
    done
    exit 2
fi

export SWIFT_BACKTRACE=enable=no
failed=0
summary=()

# The control target traps on inputs starting with FUZZ; libFuzzer's comparison tracing finds
# that within seconds. If the planted crash is not caught and saved, crashes in the real targets
# would go unreported too, so the run fails.
control=$work/control
rm -rf "$control" && mkdir -p "$control/corpus" "$control/artifacts"
"$binary" control -max_total_time=60 -rss_limit_mb="$rss_limit_mb" -artifact_prefix="$control/artifacts/" \
    -print_final_stats=1 "$control/corpus" >"$control/log" 2>&1
if grep -q "planted crash" "$control/log" && [ -n "$(ls "$control/artifacts")" ]; then
    echo "CONTROL status=caught ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$control/log" | grep -o '[0-9]*$') execs to find the planted crash)"
else
    echo "CONTROL status=missed (the planted crash was not caught and saved; log: $control/log)"
    failed=1
fi
for target in "${targets[@]}"; do
    corpus=$work/corpus/$target
    artifacts=$work/artifacts/$target
    log=$work/$target.log
    rm -rf "$corpus" "$artifacts"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "$corpus_root/$target" ]; then
        cp "$corpus_root/$target"/* "$corpus"/
    fi
    options=(-max_total_time="$seconds" -rss_limit_mb="$rss_limit_mb" -timeout="$input_timeout"
             -print_final_stats=1 -artifact_prefix="$artifacts/")
    case $target in
        http) options+=(-dict=scripts/reliability/fuzz/http.dict) ;;
        json|ingestion|otlp-json) options+=(-dict=scripts/reliability/fuzz/json.dict) ;;
        # One allocation sized by a client value (a list of every missing turn number) is the bug
        # this target looks for: far below the RSS limit, it shows as a single large malloc.
        extreme-values) options+=(-malloc_limit_mb=256) ;;
    esac
    echo "== $target: ${seconds} s from $(ls "$corpus" | wc -l) seeds; log: $log"
    "$binary" "$target" "${options[@]}" "$corpus" >"$log" 2>&1
    code=$?

    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
    # The last status line (`#N DONE cov: … ft: … corp: n/size`) has the final coverage.
    status_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    cov=$(echo "$status_line" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
    ft=$(echo "$status_line" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
    corp=$(echo "$status_line" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
    crash_files=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' -o -name 'slow-unit-*' \) | grep -v slow-unit | sort)
    crashes=$(printf '%s' "$crash_files" | grep -c . || true)
    execs=${execs:-0} rate=${rate:-0} cov=${cov:-0} ft=${ft:-0} corp=${corp:-0}

    status=ok
    reason=
    if [ "$crashes" -gt 0 ]; then
        status=crashed
        reason=$(grep -m1 -E 'fuzz property failed|Fatal error|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY' "$log" | cut -c1-300)
    elif [ "$code" -ne 0 ]; then
        status=error
        reason="parley-fuzz exited with $code: $(tail -n 1 "$log" | cut -c1-200)"
    elif [ "$execs" -eq 0 ]; then
        status=no-executions
        reason="no input was executed"
    fi
    [ "$status" = ok ] || failed=1
    echo "RESULT target=$target status=$status execs=$execs execs_per_sec=$rate cov=$cov ft=$ft corpus=$corp crashes=$crashes${reason:+ reason=$reason}"
    for file in $crash_files; do
        echo "  artifact: $file"
        echo "  replay:   .build/debug/parley-fuzz $target $file"
    done
    summary+=("$(printf '| %-13s | %-8s | %12s | %8s | %6s | %7s |' "$target" "$status" "$execs" "$rate" "$cov" "$crashes")")
done

echo
printf '| %-13s | %-8s | %12s | %8s | %6s | %7s |\n' target status execs execs/s cov crashes
echo "|---------------|----------|--------------|----------|--------|---------|"
printf '%s\n' "${summary[@]}"
echo "work directory: $work"
exit $failed
