"""Grading a class on a Slurm cluster: submit.sh (the array and the merge) and a private
single-node cluster for tests and benchmarks (:mod:`course.slurm.cluster`)."""
