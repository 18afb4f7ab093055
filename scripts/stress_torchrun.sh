#!/usr/bin/env bash
# Run the 2-process CPU (gloo) training N times and count how many exit cleanly:
#   scripts/stress_torchrun.sh 30          -> "30 passed, 0 failed"
# Every second run has a competing CPU load (one busy process per core), because the exit abort this
# guards against (a gloo thread outliving the process group, see artforge/train/distributed.py) showed
# up mostly under load.  A failed run's stderr is kept in $KEEP (default /tmp/artforge-stress) for reading.
set -uo pipefail
N=${1:-30}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
KEEP=${KEEP:-/tmp/artforge-stress}
mkdir -p "$KEEP"
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1
cores=$(nproc 2>/dev/null || echo 2)
load_pids=()

start_load() { for _ in $(seq "$cores"); do "$PY" -c "while True: pass" & load_pids+=($!); done; }
stop_load() { [ ${#load_pids[@]} -gt 0 ] && kill "${load_pids[@]}" 2>/dev/null; wait "${load_pids[@]}" 2>/dev/null; load_pids=(); }
trap 'stop_load; exit 130' INT TERM

passed=0 failed=0
for i in $(seq "$N"); do
  work=$(mktemp -d)
  loaded=$(( i % 2 == 0 ))
  [ "$loaded" = 1 ] && start_load
  ( cd "$work" && ARTFORGE_CACHE="$work/cache" timeout 300 "$PY" -m torch.distributed.run --standalone \
      --nproc-per-node 2 -m artforge train builtin:shapes --n-builtin 24 --model dcgan --size 16 --width 8 \
      --latent-dim 8 --batch 8 --precision fp32 --no-tensorboard --no-progress --log-every 5 \
      --sample-every 1000 --steps 4 --ckpt-every 2 ) > "$work/stdout" 2> "$work/stderr"
  rc=$?
  [ "$loaded" = 1 ] && stop_load
  if [ "$rc" = 0 ] && grep -q "^done:" "$work/stderr" && [ -f "$(ls -d "$work"/runs/*/checkpoints/state-00000004.pt 2>/dev/null | head -1)" ]; then
    passed=$((passed + 1)); status=ok
  else
    failed=$((failed + 1)); status="FAILED (exit $rc, stderr in $KEEP/run-$i.stderr)"
    cp "$work/stderr" "$KEEP/run-$i.stderr"
  fi
  echo "run $i/$N$([ "$loaded" = 1 ] && echo ' (under load)'): $status" >&2
  rm -rf "$work"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
