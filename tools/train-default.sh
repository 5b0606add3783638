#!/usr/bin/env bash
# tools/train-default.sh [WORK] — reproduces the shipped default model (assets/models/default)
# on the CPU with the exact commands it was made with, then shows how to install it.
#   WORK   folder for the data, the training run and the package (default: out/default-model)
# Every step is deterministic (seeds, data order, sampling noise), and training resumes from
# its checkpoint when the script is run again after an interruption, ending with the same
# weights. Where the last step left off is where a rerun continues.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-out/default-model}
tools/setup.sh
tools/build.sh
exe=build/tools/circumplex

# The training set: 24 000 procedural faces of 1 600 people (15 affect points each) in the 3D
# (C2A2) affect space.
if [ ! -f "$work/data/labels.csv" ]; then
  "$exe" synth --count 24000 --identities 1600 --size 128 --seed 2026 --mode 3d --out "$work/data"
fi

# The β-VAE: 128² RGB, latent 64, encoder width 16, β 0.1 (β 1 left faces too blurred for
# 26 dB); latents 0-2 guided to read (v, a, z) (W 300); each face is decoded from the *true*
# (v, a, z) in latents 0-2 (--teacher-forcing, what compose sets at run time) and the other
# latents of another image of the same person (--identity-swap), so the decoder draws the
# expression from the asked point alone; reconstruction weighted where expressions change
# the face (A 8). Two LibTorch threads, passive OpenMP waits (the run's floating-point order
# depends on the thread count). Resumes if a checkpoint exists.
resume=()
[ -f "$work/run/checkpoint.cpxw" ] && resume=(--resume)
OMP_WAIT_POLICY=passive "$exe" train --data "$work/data" --out "$work/run" --epochs "${CIRCUMPLEX_DEFAULT_EPOCHS:-20}" --batch 32 \
  --latent 64 --width 16 --beta 0.1 --affect-weight 300 --identity-swap --teacher-forcing --expression-weight 8 \
  --lr 1e-3 --threads 2 --seed 1 "${resume[@]}"

# Directions, metrics and the package.
"$exe" map --run "$work/run" --data "$work/data" --out "$work/pkg" --threads 2 --seed 1

echo "Done: $work/pkg. Install it with: rm -rf assets/models/default && cp -r $work/pkg assets/models/default"
