#!/bin/bash
# Grade a class on a Slurm cluster: an array of SHARDS tasks, then the merge once they all succeed.
#
#   course/slurm/submit.sh LAB SUBMISSIONS OUT SHARDS [JOBS]
#   course/slurm/submit.sh 01 submissions/ grades/ 8 2   # 8 tasks, 2 students at once in each
#
# Run it from the repository root (the jobs start there and use .venv/bin/python, or
# $INVLAB_PYTHON). Resubmitting the same command after a cancelled or failed task grades only
# the students not yet in their shard's gradebook (--resume). Extra sbatch options go in
# SBATCH_ARGS (e.g. SBATCH_ARGS="--partition=short --time=02:00:00"); extra grading options in
# GRADE_ARGS (e.g. GRADE_ARGS="--timeout 90"). Prints the two job ids.
set -euo pipefail
if [ $# -lt 4 ]; then sed -n '2,12p' "$0"; exit 2; fi
LAB=$1 SUBMISSIONS=$2 OUT=$3 SHARDS=$4 JOBS=${5:-1}
HERE=$(dirname "$0")
export LAB SUBMISSIONS OUT SHARDS JOBS
mkdir -p "$OUT"
array=$(sbatch --parsable --array="1-$SHARDS" --cpus-per-task="$JOBS" --chdir="$PWD" \
        --output="$OUT/%x-%A_%a.out" ${SBATCH_ARGS:-} "$HERE/grade-array.sh")
merge=$(sbatch --parsable --dependency="afterok:${array%%;*}" --chdir="$PWD" \
        --output="$OUT/%x-%j.out" ${SBATCH_ARGS:-} "$HERE/merge.sh")
echo "array ${array%%;*} merge ${merge%%;*}"
