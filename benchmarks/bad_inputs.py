"""Print the bad-input table of tests/test_validation.py as markdown (call | error | message).

    PYTHONPATH=$PWD python benchmarks/bad_inputs.py > bad_inputs.md
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("INVLAB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_validation import BAD_INPUTS, markdown_table  # noqa: E402

if __name__ == "__main__":
    print(markdown_table())
    print(f"\n{len(BAD_INPUTS)} bad inputs; every one raises the error and message shown.")
