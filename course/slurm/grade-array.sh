#!/bin/bash
# One shard of a class, graded as one task of a Slurm array (course/slurm/submit.sh submits it).
#   LAB=01 SUBMISSIONS=submissions/ OUT=grades/ SHARDS=8 JOBS=2 sbatch --array=1-8 course/slurm/grade-array.sh
# Each task grades every SHARDS-th student (course.grade --shard K/N) with JOBS students at once,
# inside the grading sandbox, and writes OUT/parts/K/grades.csv (+ feedback/). --resume keeps the
# rows a cancelled or failed task already saved, so resubmitting the same array continues it.
#SBATCH --job-name=invlab-grade
#SBATCH --output=%x-%A_%a.out
set -euo pipefail
: "${LAB:?set LAB (e.g. 01)}" "${SUBMISSIONS:?set SUBMISSIONS}" "${OUT:?set OUT}" "${SHARDS:?set SHARDS}"
K="${SLURM_ARRAY_TASK_ID:?run me as a Slurm array task}"
PY="${INVLAB_PYTHON:-.venv/bin/python}"
exec "$PY" -m course.grade "$SUBMISSIONS" --lab "$LAB" --jobs "${JOBS:-1}" --resume \
    --shard "$K/$SHARDS" --out "$OUT/parts/$K/grades.csv" ${GRADE_ARGS:-}
