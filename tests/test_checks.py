import pytest
import torch

from invlab import checks


def test_shape_message_in_students_terms():
    with pytest.raises(AssertionError) as e:
        checks.check_shape("psi(x)", torch.zeros(2, 4, 7, 7), (2, 16, 7, 7))
    assert str(e.value) == "psi(x) has shape (2, 4, 7, 7); expected (2, 16, 7, 7)"


def test_none_hints_at_missing_return():
    with pytest.raises(checks.CheckFailed, match="forget to return"):
        checks.check_shape("split_channels(x)[0]", None, (1,))


def test_nan_is_reported():
    with pytest.raises(checks.CheckFailed, match="NaN or inf"):
        checks.check_tensor("y", torch.tensor([1.0, float("nan")]))


def test_check_equal_counts_differences():
    with pytest.raises(checks.CheckFailed, match="differs from the expected values in 1 of 4 entries"):
        checks.check_equal("x", torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 3, 5]))
    checks.check_equal("x", torch.tensor([1, 2]), torch.tensor([1, 2]))


def test_check_close_reports_largest_difference_and_hint():
    with pytest.raises(checks.CheckFailed, match=r"largest difference is 0.5\. mix the features"):
        checks.check_close("frame", torch.zeros(3), torch.tensor([0, 0.5, 0]), hint="mix the features")
    with pytest.raises(checks.CheckFailed, match="is 0.4; expected 0.5"):
        checks.check_close("accuracy", 0.4, 0.5)
    checks.check_close("accuracy", 0.5, 0.5)


def test_check_between():
    checks.check_between("acc", 0.9, 0.8, 1.0)
    with pytest.raises(checks.CheckFailed, match="acc is 0.7; expected it between 0.8 and 1"):
        checks.check_between("acc", 0.7, 0.8, 1.0)
    with pytest.raises(checks.CheckFailed, match="should be a number"):
        checks.check_between("acc", "high", 0, 1)


def test_check_invertible():
    x = torch.randn(4, 3)
    assert checks.check_invertible("double", lambda t: 2 * t, lambda t: t / 2, x) == 0.0
    with pytest.raises(checks.CheckFailed, match="does not invert exactly.*expected ≤ 1e-05"):
        checks.check_invertible("wrong", lambda t: 2 * t, lambda t: t / 2.1, x)


def test_passed_prints_to_stdout(capsys):
    checks.passed("psi")
    out = capsys.readouterr()
    assert out.out == "✔ psi: all checks passed.\n" and out.err == ""


def test_count_torch_calls_tells_loops_from_matrices():
    x = torch.randn(50, 2)
    with checks.count_torch_calls() as vec:
        torch.cdist(x, x).sum()
    with checks.count_torch_calls() as loop:
        sum(((x[i] - x[j]) ** 2).sum() for i in range(50) for j in range(50))
    assert vec.calls < 10 < 1000 < loop.calls
