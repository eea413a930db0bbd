#!/bin/bash
# Join the shards of a graded class into OUT/grades.csv and OUT/feedback/ (after the array).
#SBATCH --job-name=invlab-merge
#SBATCH --output=%x-%j.out
set -euo pipefail
: "${OUT:?set OUT}"
PY="${INVLAB_PYTHON:-.venv/bin/python}"
exec "$PY" -m course.grade merge "$OUT"/parts/*/grades.csv --out "$OUT/grades.csv"
