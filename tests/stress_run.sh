#!/usr/bin/env bash
# The default suite, several times in a row, while CPU hogs keep every core busy.
#
#   bash tests/stress_run.sh            # 3 runs, one hog per core
#   RUNS=1 HOGS=2 bash tests/stress_run.sh -k stream   # extra arguments go to pytest
#
# Proof that no pass depends on the machine's speed: a test that needs a quiet machine fails
# here. Prints each run's wall time; exits non-zero on the first failing run. The hogs are this
# script's own children and are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
HOGS=${HOGS:-$(nproc 2>/dev/null || echo 2)}
PY=${PYTHON:-python}

hogs=()
stop_hogs() {
    for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_hogs EXIT
for _ in $(seq "$HOGS"); do
    "$PY" -c 'while 1: pass' &
    hogs+=("$!")
done
echo "stress: $HOGS CPU hog(s) running (pids ${hogs[*]}), $RUNS run(s) of the default suite"

for run in $(seq "$RUNS"); do
    start=$(date +%s)
    if "$PY" -m pytest -q -rs "$@"; then
        echo "stress: run $run/$RUNS passed in $(( $(date +%s) - start )) s"
    else
        echo "stress: run $run/$RUNS FAILED after $(( $(date +%s) - start )) s"
        exit 1
    fi
done
