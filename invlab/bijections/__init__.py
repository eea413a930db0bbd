"""Combinatorial bijections as data for invertible networks, with honest metrics (lab 2).

Lab 2 trains a coupling INN to *learn* a bijection φ: A → B between two equinumerous
finite families of combinatorial objects. The package has three parts:

* :mod:`.combinatorics`: the algorithms in both directions and the validity rules,
  pure Python (no torch); :mod:`.trees`: labelled trees, Prüfer sequences and parent
  arrays, on the same rules;
* :mod:`.families`: one class per bijection (:class:`Bijection`, registry
  :data:`BIJECTIONS`, lookup :func:`get_bijection`), fixed-length integer encodings of one
  length ``D`` on both sides, and the whole set as float tensors (:func:`make_dataset`,
  :func:`train_test_split`; padding is :func:`invlab.data.pad`);
* :mod:`.metrics`: honest metrics on rounded model outputs (:func:`exact_match`,
  :func:`valid_fraction`, :func:`injectivity`, :func:`is_bijective`, :func:`evaluate`)
  and, for the discussion only, the dishonest one (:func:`roundtrip_match`).

>>> from invlab import bijections as B
>>> B.get_bijection("lehmer").forward((2, 0, 1, 3, 4, 5, 6, 7))
(2, 0, 0, 0, 0, 0, 0, 0)
"""
from __future__ import annotations

from .combinatorics import (conjugate, gray_decode, gray_encode, lehmer_code, lehmer_decode,
                            partition_to_subset, partitions_in_box, subset_to_partition)
from .trees import pruefer_code, pruefer_decode, tree_from_parent_array, tree_parent_array
from .families import (BIJECTIONS, Bijection, Conjugation, Gray, Lehmer, Pruefer, Subsets,
                       UnknownBijectionError, conjugation_bijection, get_bijection, gray_bijection,
                       lehmer_bijection, make_dataset, pad, pruefer_bijection, subsets_bijection,
                       train_test_split)
from .metrics import (decode_predictions, evaluate, exact_match, injectivity, is_bijective,
                      round_to_int, roundtrip_match, table_predictor, valid_fraction)

__all__ = [
    # the algorithms
    "subset_to_partition", "partition_to_subset", "lehmer_code", "lehmer_decode",
    "conjugate", "partitions_in_box", "pruefer_code", "pruefer_decode",
    "tree_parent_array", "tree_from_parent_array", "gray_encode", "gray_decode",
    # the bijections
    "Bijection", "Subsets", "Lehmer", "Conjugation", "Pruefer", "Gray",
    "UnknownBijectionError", "BIJECTIONS", "get_bijection",
    "subsets_bijection", "lehmer_bijection", "conjugation_bijection",
    "pruefer_bijection", "gray_bijection",
    # data
    "make_dataset", "pad", "train_test_split",
    # metrics
    "round_to_int", "exact_match", "valid_fraction", "injectivity", "is_bijective",
    "decode_predictions", "evaluate", "roundtrip_match", "table_predictor",
]
