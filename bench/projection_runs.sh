#!/usr/bin/env bash
# The runs that bench/projection.py and bench/directions.py measure (issue 10): every family with a
# latent space, trained at 32 px on the same 1,300 glyph pictures, leaving 64 out for projection.
# Usage: bench/projection_runs.sh DATA_DIR OUT_DIR   (DATA_DIR/train and DATA_DIR/heldout are made from every
# installed font's glyphs at 64 px, as in bench/quality.py's full race, if missing).  One thread each, so two
# can run side by side on 2 cores.
set -euo pipefail
data=${1:-/tmp/pd}; out=${2:-$data/runs}
artforge=${ARTFORGE:-.venv/bin/artforge}
if [ ! -d "$data/train" ]; then
  src=$data/glyphs64
  [ -d "$src" ] || PYTHONPATH=src .venv/bin/python -c "
from artforge.data.sources import prepare
prepare('builtin:glyphs', '$src', 64, n_builtin=10**6, seed=0, progress=False)"  # all the glyphs there are
  mkdir -p "$data/train" "$data/heldout"
  ls "$src"/*.png | .venv/bin/python -c "
import random, shutil, sys
names = sorted(l.strip() for l in sys.stdin)
random.Random(0).shuffle(names)
for i, n in enumerate(names):
    shutil.copy(n, '$data/heldout/' if i < 64 else '$data/train/')"
fi
common=(--size 32 --no-progress --sample-every 500 --ckpt-every 500)
export OMP_NUM_THREADS=1
$artforge train "$data/train" --model dcgan --steps 1000 --out "$out/dcgan" "${common[@]}"
$artforge train "$data/train" --model vae --steps 1500 --out "$out/vae" "${common[@]}"
$artforge train "$data/train" --model fastgan --steps 600 --out "$out/fastgan" "${common[@]}"
$artforge train "$data/train" --model pggan --steps 1000 --out "$out/pggan" "${common[@]}"
$artforge train "$data/train" --model stylegan --steps 400 --out "$out/stylegan" "${common[@]}"
# ddpm: the 32-px CPU preset, about an hour on one thread
$artforge train "$data/train" --model ddpm --batch 32 --steps 4000 --out "$out/ddpm" \
  --size 32 --no-progress --sample-every 1000 --ckpt-every 500
