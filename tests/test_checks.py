"""Every branch of invlab.checks can fail: each test makes one check fail on purpose and
asserts its message, and passes the same check a right answer (so a check that always
fails is caught too)."""
import pytest
import torch

from invlab import checks
from invlab.checks import CheckFailed


def fails(match):
    return pytest.raises(CheckFailed, match=match)


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


def test_check():
    checks.check(True, "never shown")
    with fails("^the message$"):
        checks.check(False, "the message")
    with fails("^empty$"):
        checks.check([], "empty")                     # falsy, not only False


def test_shape_message_in_students_terms():
    with pytest.raises(AssertionError) as e:
        checks.check_shape("psi(x)", torch.zeros(2, 4, 7, 7), (2, 16, 7, 7))
    assert str(e.value) == "psi(x) has shape (2, 4, 7, 7); expected (2, 16, 7, 7)"
    checks.check_shape("psi(x)", torch.zeros(2, 16, 7, 7), (2, 16, 7, 7))
    checks.check_shape("psi(x)", torch.zeros(2, 16, 7, 7), torch.Size([2, 16, 7, 7]))
    with fails("^s has shape \\(\\); expected \\(1,\\)$"):
        checks.check_shape("s", torch.tensor(1.0), (1,))


def test_check_tensor_branches():
    with fails(r"^split_channels\(x\)\[0\] should be a torch.Tensor, but it is a NoneType "
               r"\(did you forget to return it\?\)$"):
        checks.check_shape("split_channels(x)[0]", None, (1,))
    with fails(r"^y should be a torch.Tensor, but it is a list$"):      # no return hint
        checks.check_tensor("y", [1.0])
    with fails(r"^y has dtype torch.float32; expected torch.float64$"):
        checks.check_tensor("y", torch.zeros(2), dtype=torch.float64)
    checks.check_tensor("y", torch.zeros(2, dtype=torch.float64), dtype=torch.float64)
    with fails(r"^y contains NaN or inf values$"):
        checks.check_tensor("y", torch.tensor([1.0, float("nan")]))
    with fails(r"^y contains NaN or inf values$"):
        checks.check_tensor("y", torch.tensor([float("-inf")]))
    checks.check_tensor("labels", torch.tensor([1, 2]))                  # integers: no NaN test


def test_check_equal_tensor_branch():
    with fails("^x differs from the expected values in 1 of 4 entries$"):
        checks.check_equal("x", torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 3, 5]))
    with fails(r"^x has shape \(3,\); expected \(4,\)$"):
        checks.check_equal("x", torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3, 5]))
    with fails("^x should be a torch.Tensor, but it is a list"):
        checks.check_equal("x", [1, 2, 3, 5], torch.tensor([1, 2, 3, 5]))
    checks.check_equal("x", torch.tensor([1, 2]), torch.tensor([1, 2]))


def test_check_equal_non_tensor_branch():
    # this branch grades lab 2's mapping_type: replacing it by `pass` must fail here
    with fails("^mapping_type is 'injective'; expected 'bijective'$"):
        checks.check_equal("mapping_type", "injective", "bijective")
    with fails("^n is 3; expected 4$"):
        checks.check_equal("n", 3, 4)
    with fails(r"^pair is \(1, 2\); expected \(2, 1\)$"):
        checks.check_equal("pair", (1, 2), (2, 1))
    checks.check_equal("mapping_type", "bijective", "bijective")
    checks.check_equal("n", 4, 4)


def test_check_close_tensor_branch():
    with fails(r"^frame is not close to the expected values: the largest difference is 0.5\. "
               r"mix the features$"):
        checks.check_close("frame", torch.zeros(3), torch.tensor([0, 0.5, 0]), hint="mix the features")
    with fails(r"^frame is not close to the expected values: the largest difference is 0.5$"):
        checks.check_close("frame", torch.zeros(3), torch.tensor([0, 0.5, 0]))     # no hint, no dot
    with fails(r"^frame has shape \(2,\); expected \(3,\)$"):
        checks.check_close("frame", torch.zeros(2), torch.zeros(3))
    with fails(r"^frame contains NaN or inf values$"):
        checks.check_close("frame", torch.tensor([float("nan")]), torch.zeros(1))
    checks.check_close("frame", torch.zeros(3), torch.tensor([0, 1e-7, 0]))          # within atol
    checks.check_close("frame", torch.full((2,), 100.0), torch.full((2,), 100.0005), rtol=1e-5)
    with fails("largest difference"):
        checks.check_close("frame", torch.full((2,), 100.0), torch.full((2,), 100.01), rtol=1e-5)
    checks.check_close("big", torch.full((2,), 100.0), torch.full((2,), 100.5), rtol=0, atol=1.0)


def test_check_close_number_branch():
    with fails("^accuracy is 0.4; expected 0.5$"):
        checks.check_close("accuracy", 0.4, 0.5)
    with fails(r"^accuracy is 0.4; expected 0.5\. count the right rows$"):
        checks.check_close("accuracy", 0.4, 0.5, hint="count the right rows")
    checks.check_close("accuracy", 0.5, 0.5)
    checks.check_close("accuracy", 0.5 + 1e-7, 0.5)
    checks.check_close("loss", torch.tensor(2.0), 2.0)                # a 0-dim tensor as actual
    with fails("^loss is 2; expected -2$"):
        checks.check_close("loss", 2.0, -2.0)                         # the sign counts


def test_check_between():
    checks.check_between("acc", 0.9, 0.8, 1.0)
    checks.check_between("acc", 0.8, 0.8, 1.0)                       # bounds included
    checks.check_between("acc", 1.0, 0.8, 1.0)
    checks.check_between("acc", torch.tensor(0.9), 0.8, 1.0)
    with fails("^acc is 0.7; expected it between 0.8 and 1$"):
        checks.check_between("acc", 0.7, 0.8, 1.0)
    with fails(r"^acc is 1.2; expected it between 0.8 and 1\. train longer$"):
        checks.check_between("acc", 1.2, 0.8, 1.0, hint="train longer")
    with fails("^acc should be a number, but it is a str$"):
        checks.check_between("acc", "high", 0, 1)
    with fails("^acc should be a number, but it is a Tensor$"):
        checks.check_between("acc", torch.zeros(2), 0, 1)
    with fails("^acc is nan; expected it between"):
        checks.check_between("acc", float("nan"), 0, 1)


class Cached:
    """An 'inverse' that returns what forward saw: right on f(x), wrong on any other y."""

    def forward(self, t):
        self.seen = t
        return 2 * t

    def inverse(self, t):
        return self.seen


def test_check_invertible_branches():
    x = torch.randn(4, 3)
    assert checks.check_invertible("double", lambda t: 2 * t, lambda t: t / 2, x) == 0.0
    with fails(r"^wrong does not invert exactly: ‖x − inverse\(forward\(x\)\)‖/‖x‖ = .*expected ≤ 1e-05$"):
        checks.check_invertible("wrong", lambda t: 2 * t, lambda t: t / 2.1, x)
    with fails(r"^f: the forward pass returned a tuple; expected a tensor$"):
        checks.check_invertible("f", lambda t: (t, t), lambda t: t, x)
    with fails(r"^f: inverse\(forward\(x\)\) has shape \(4, 2\); expected \(4, 3\)$"):
        checks.check_invertible("f", lambda t: t, lambda t: t[:, :2], x)
    c = Cached()
    with fails(r"^cached: inverse\(forward\(x\)\) gives x back, but forward\(inverse\(y\)\) does "
               r"not give y back .*does the inverse use something only forward knows\?$"):
        checks.check_invertible("cached", c.forward, c.inverse, x)
    # rtol: a looser tolerance accepts what the default refuses
    checks.check_invertible("near", lambda t: 2 * t, lambda t: t / 2 * (1 + 1e-4), x, rtol=1e-3)
    with fails("does not invert exactly"):
        checks.check_invertible("near", lambda t: 2 * t, lambda t: t / 2 * (1 + 1e-4), x)


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
    with checks.count_torch_calls() as none:
        pass
    assert none.calls == 0
    with checks.count_torch_calls() as two:
        torch.add(x, 1)
        torch.mul(x, 2)
    assert two.calls == 2


@pytest.mark.parametrize("call, error, message", [
    (lambda: checks.check(False, 3), TypeError, r"^check: message must be a str, got 3$"),
    (lambda: checks.check_tensor(1, torch.zeros(1)), TypeError, r"^check_tensor: name must be a str, got 1$"),
    (lambda: checks.check_tensor("y", torch.zeros(1), dtype="float32"), TypeError,
     r"^check_tensor: dtype must be a torch.dtype or None, got 'float32'$"),
    (lambda: checks.check_shape("y", torch.zeros(1), 1), TypeError,
     r"^check_shape: expected must be a shape: a sequence of ints, got 1$"),
    (lambda: checks.check_close("y", 1.0, 1.0, rtol=-1), ValueError,
     r"^check_close: rtol must be a finite number ≥ 0, got -1$"),
    (lambda: checks.check_close("y", 1.0, 1.0, hint=None), TypeError, r"^check_close: hint must be a str, got None$"),
    (lambda: checks.check_between("y", 1.0, "0", 2), TypeError, r"^check_between: low must be a number, got '0'$"),
    (lambda: checks.check_between("y", 1.0, 2, 0), ValueError, r"^check_between: high must be a number ≥ low = 2, got 0$"),
    (lambda: checks.check_invertible("f", "forward", abs, torch.zeros(1)), TypeError,
     r"^check_invertible: forward must be a callable, got 'forward'$"),
    (lambda: checks.check_invertible("f", abs, abs, [1.0]), TypeError,
     r"^check_invertible: x must be a floating-point torch.Tensor, got \[1.0\] \(list\)$"),
    (lambda: checks.check_invertible("f", abs, abs, torch.ones(1), rtol=0), ValueError,
     r"^check_invertible: rtol must be a finite number > 0, got 0$"),
    (lambda: checks.passed(None), TypeError, r"^passed: what must be a str, got None$"),
    (lambda: checks.check_between("y", 1.0, 0, 2, hint=None), TypeError,
     r"^check_between: hint must be a str, got None$"),
    (lambda: checks.check_between("y", 1.0, 0, [2]), TypeError, r"^check_between: high must be a number, got \[2\] \(list\)$"),
    (lambda: checks.check_invertible(3, abs, abs, torch.ones(1)), TypeError,
     r"^check_invertible: name must be a str, got 3$"),
    (lambda: checks.check_invertible("f", abs, None, torch.ones(1)), TypeError,
     r"^check_invertible: inverse must be a callable, got None$"),
    (lambda: checks.check_invertible("f", abs, abs, torch.ones(1, dtype=torch.long)), TypeError,
     r"^check_invertible: x must be a floating-point torch.Tensor, got a tensor of shape \(1,\) \(int64\)$"),
    (lambda: checks.check_close("y", 1.0, 1.0, atol=float("nan")), ValueError,
     r"^check_close: atol must be a finite number ≥ 0, got nan \(float\)$"),
    (lambda: checks.check_tensor("y", torch.zeros(1), dtype=None) or checks.check_tensor(None, 1), TypeError,
     r"^check_tensor: name must be a str, got None$"),
])
def test_instructor_arguments_are_validated(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- branches the mutation run found untested
def test_check_log_det_compares_with_the_autograd_jacobian():
    A = torch.tensor([[2.0, 1.0], [0.0, 3.0]], dtype=torch.float64)
    f, x = (lambda v: v @ A.T), torch.randn(4, 2, dtype=torch.float64)
    right = torch.full((4,), 6.0, dtype=torch.float64).log()
    ref = checks.check_log_det("log_det", right, f, x)
    assert torch.allclose(ref, right, rtol=0, atol=1e-12)                      # returns the reference
    with fails(r"^log_det vs log\|det J\| of the full Jacobian \(autograd\) is not close to the expected "
               r"values: the largest difference is 0\.896. sum over the features$"):
        checks.check_log_det("log_det", right / 2, f, x, hint="sum over the features")
    with fails(r"log_det vs log\|det J\|"):                                    # the default tolerance is tight
        checks.check_log_det("log_det", right * (1 + 1e-6), f, x)
    with fails(r"^log_det has the wrong sign: it is the log-det of the inverse map"):
        checks.check_log_det("log_det", -right, f, x)
    with fails(r"^log_det has shape \(4, 1\); expected \(4,\)$"):
        checks.check_log_det("log_det", right[:, None], f, x)
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)        # log|det| = 0: no sign to get wrong
    checks.check_log_det("log_det", torch.zeros(4, dtype=torch.float64), lambda v: v @ rot.T, x)
    with fails(r"log_det vs log\|det J\|"):
        checks.check_log_det("log_det", torch.full((4,), 0.1, dtype=torch.float64), lambda v: v @ rot.T, x)


def test_numbers_from_numpy_and_one_element_tensors():
    np = pytest.importorskip("numpy")
    checks.check_close("v", np.float32(1.0), 1.0)
    checks.check_close("v", np.int64(3), 3.0)
    checks.check_equal("flag", np.bool_(True), True)
    with fails("^v should be a number, but it is a complex64"):
        checks.check_close("v", np.complex64(1.0), 1.0)
    checks.check_between("v", 0.5, low=torch.tensor(0.0), high=torch.tensor([1.0]))  # instructor bounds as tensors
    with pytest.raises(TypeError, match="check_between: low must be a number"):
        checks.check_between("v", 0.5, low=torch.zeros(2))


def test_plain_values_of_every_kind():
    with fails("^n is 2.7; expected 2$"):                  # an int is expected: 2.7 is not 2
        checks.check_equal("n", 2.7, 2)
    checks.check_equal("n", 2.0, 2)
    with fails(r"^t should be a tuple of 2 items, but it is tuple of 3$"):
        checks.check_equal("t", (1, 2, 3), (1, 2))
    with fails(r"^t should be a tuple of 2 items, but it is str$"):
        checks.check_equal("t", "12", (1, 2))
    checks.check_equal("r", None, None)
    with fails("^r is int; expected None$"):
        checks.check_equal("r", 5, None)
    with fails(r"^y should be a torch.Tensor, but it is a NoneType \(did you forget to return it\?\)$"):
        checks.check_tensor("y", None)
    with fails(r"^y should be a torch.Tensor, but it is a list$"):
        checks.check_tensor("y", [1.0])
    with pytest.raises(TypeError, match="check_shape: expected must be a shape"):
        checks.check_shape("x", torch.zeros(1, 2), (True, 2))


def test_tolerances_at_their_edges():
    checks.check_close("v", 1000.005, 1000.0, rtol=1e-5, atol=0)          # rtol scales with |expected|
    with fails("^v is 1000.02; expected 1000$"):
        checks.check_close("v", 1000.02, 1000.0, rtol=1e-5, atol=0)
    checks.check_close("v", 1.5, 1.0, rtol=0, atol=0.5)                   # |a − e| = atol passes
    checks.check_between("v", 1.0, low=1.0, high=1.0)                     # low = high is allowed
    with fails(r"^x is not close to the expected values: the largest difference is 0\.5$"):
        checks.check_close("x", torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.5]))


def test_explain_errors_names_the_call_quotes_torch_and_picks_the_hint():
    from invlab.checks import explain_errors
    with pytest.raises(checks.CheckFailed) as e:
        with explain_errors("f(x)", {"no such": "never", "must match the size": "one shape please"}):
            torch.ones(2) + torch.ones(3)
    msg = str(e.value)
    assert msg.startswith("f(x) fails (The size of tensor a (2) must match") and msg.endswith("): one shape please")
    assert e.value.__suppress_context__                     # no torch traceback chained under it
    with pytest.raises(checks.CheckFailed, match=r"^g\(x\) fails \(boom\): look here$"):
        with explain_errors("g(x)", {"other": "no"}, default="look here"):
            raise RuntimeError("boom\nsecond line")
    with pytest.raises(checks.CheckFailed, match=r"^h fails \(RuntimeError\)$"):
        with explain_errors("h"):
            raise RuntimeError()
    with pytest.raises(NotImplementedError):                     # a blank exercise stays a blank exercise
        with explain_errors("k", default="hint"):
            raise NotImplementedError()
    with pytest.raises(ValueError, match="not a torch error"):   # other errors pass through untouched
        with explain_errors("k"):
            raise ValueError("not a torch error")
    with explain_errors("fine"):                                  # no error: nothing happens
        pass
    with pytest.raises(TypeError, match="explain_errors: hints"):
        with explain_errors("f", {"key": 3}):
            pass


def test_explain_errors_also_explains_the_python_errors_it_is_given():
    from invlab.checks import explain_errors
    with pytest.raises(checks.CheckFailed, match=r"^step fails \((\S*\.)?omega\(\) missing 2 required positional "
                                                 r"arguments: 'mu' and 'lam'\): pass mu, lam$"):
        with explain_errors("step", {"missing": "pass mu, lam"}, also=(TypeError,)):
            def omega(f, g, x, y, mu, lam):
                pass
            omega(1, 2, 3, 4)
    with pytest.raises(IndexError):                              # not named: passes through
        with explain_errors("k", also=(TypeError,)):
            [][1]
    with pytest.raises(checks.CheckFailed, match="^a failed check$"):   # a check inside is not re-worded
        with explain_errors("k", also=(AssertionError, Exception)):
            checks.check(False, "a failed check")
    with pytest.raises(NotImplementedError):
        with explain_errors("k", also=(Exception,)):
            raise NotImplementedError()
    for bad in ([TypeError], (TypeError, "x"), (int,)):
        with pytest.raises(TypeError, match="explain_errors: also must be a tuple of exception classes"):
            with explain_errors("k", also=bad):
                pass


def test_explain_errors_names_torchs_not_implemented_but_not_a_blank_exercise():
    with pytest.raises(checks.CheckFailed, match=r"^f\(x\) fails \(.*not implemented for 'Float'\): use \*\* for powers"):
        with checks.explain_errors("f(x)", {"not implemented": "use ** for powers"}):
            torch.ones(2) ^ 2
    with pytest.raises(NotImplementedError):
        with checks.explain_errors("f(x)"):
            raise NotImplementedError()
