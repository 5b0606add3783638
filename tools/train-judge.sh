#!/usr/bin/env bash
# tools/train-judge.sh [JUDGE] [DATA] — reproduces circumplex's judge on CPU.
#
# The judge (`circumplex judge`) scores what a model package generates (`circumplex evaluate`),
# so it must never have seen the VAE's people: its faces come from `circumplex synth` with a
# seed (777) that the VAE's data does not use. Both steps are deterministic for their seeds
# and thread counts; an interrupted judge run continues where it stopped when this is rerun.
#   JUDGE  the judge folder to write (default out/judge)
#   DATA   where its faces go (default out/judge-data; reused when already complete)
set -euo pipefail
cd "$(dirname "$0")/.."
judge=${1:-out/judge}
data=${2:-out/judge-data}
tools/setup.sh
tools/build.sh
exe=build/tools/circumplex

# 24 000 faces of 2 400 people at 128², split 80/10/10 by person (test people are unseen).
# (8 000 faces of 800 people gave a judge that overfitted: held-out MAE (v, a) 0.13.)
if [ ! -f "$data/labels.csv" ]; then
  "$exe" synth --count 24000 --seed 777 --size 128 --identities 2400 --out "$data"
fi
resume=()
if [ -f "$judge/checkpoint.safetensors" ]; then resume=(--resume); fi
"$exe" judge --data "$data" --out "$judge" --epochs 10 --batch 64 --width 24 --threads 1 --seed 1 "${resume[@]}"
echo "judge package in $judge (report.md: held-out metrics)"
