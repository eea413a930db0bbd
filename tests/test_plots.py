import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from invlab import plots, widgets


def test_psi_channels_figure_has_image_and_every_channel():
    fig = plots.show_psi_channels(torch.rand(1, 28, 28), block_size=4)
    assert len(fig.axes) == 1 + 16
    assert "(16, 7, 7)" in fig._suptitle.get_text()
    plt.close(fig)


def test_image_grid_and_strip():
    fig = plots.show_images(torch.rand(10, 1, 28, 28), titles=list(range(10)), ncols=4)
    assert len(fig.axes) == 12 and fig.axes[9].get_title() == "9"
    plt.close(fig)
    fig = plots.show_strip(torch.rand(3, 28, 28), [0.0, 0.5, 1.0])
    assert [a.get_title() for a in fig.axes] == ["t=0.00", "t=0.50", "t=1.00"]
    plt.close(fig)


def test_slider_draws_static_strip_and_widget():
    ui = widgets.image_slider(torch.rand(5, 1, 28, 28), [0, 0.25, 0.5, 0.75, 1.0])
    assert ui is not None and ui.children[0].max == 4
    plt.close("all")


def test_slider_needs_one_frame_per_value():
    with pytest.raises(ValueError, match=r"^image_slider: ts must be a sequence of 2 labels, one per "
                                         r"image \(it has 3\), got \[0, 0.5, 1\] \(list\)$"):
        widgets.image_slider(torch.rand(2, 1, 4, 4), [0, 0.5, 1])


@pytest.mark.parametrize("call, error, message", [
    (lambda: plots.show_images([[0.0]]), TypeError, r"^show_images: images must be a torch.Tensor"),
    (lambda: plots.show_images(torch.rand(2, 3, 4, 4)), ValueError,
     r"^show_images: images must be a non-empty tensor \(N, 1, H, W\) or \(N, H, W\)"),
    (lambda: plots.show_images(torch.rand(2, 4)), ValueError, r"^show_images: images must be a tensor with 3 or 4 axes"),
    (lambda: plots.show_images(torch.rand(2, 4, 4), titles=["a"]), ValueError,
     r"^show_images: titles must be a sequence of 2 labels"),
    (lambda: plots.show_images(torch.rand(2, 4, 4), ncols=0), ValueError, r"^show_images: ncols must be an int ≥ 1, got 0$"),
    (lambda: plots.show_psi_channels(torch.rand(28, 28)), ValueError, r"^show_psi_channels: image must be a tensor with 3 axes"),
    (lambda: plots.show_psi_channels(torch.rand(1, 8, 8), block_size="2"), TypeError,
     r"^show_psi_channels: block_size must be an int ≥ 1, got '2'$"),
    (lambda: plots.show_strip(torch.rand(2, 4, 4), ["a", "b"]), TypeError, r"^show_strip: ts\[0\] must be a finite number, got 'a'$"),
    (lambda: widgets.image_slider(torch.rand(2, 4, 4), [0, 1], label=3), TypeError, r"^image_slider: label must be a str, got 3$"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
    plt.close("all")


def test_strip_and_slider_titles():
    import matplotlib.pyplot as plt
    import torch
    from invlab import plots, widgets
    fig = plots.show_strip(torch.rand(3, 1, 4, 4), [0.0, 0.5, 1.0], title="a path")
    fig = fig if fig is not None else plt.gcf()
    assert fig._suptitle is not None and fig._suptitle.get_text() == "a path"
    with pytest.raises(TypeError, match="show_strip: title must be a str or None"):
        plots.show_strip(torch.rand(3, 1, 4, 4), [0.0, 0.5, 1.0], title=3)
    widgets.image_slider(torch.rand(2, 1, 4, 4), [0.0, 1.0], title="slider path")
    plt.close("all")


def test_density_on_grid_puts_row_i_at_y_i_and_digit_tiles_keep_every_image_in_its_frame():
    d = plots.density_on_grid(lambda x: -(x[:, 1] - 1.0) ** 2 * 50 - x[:, 0] * 0, (-2, 2, -2, 2), (5, 9))
    assert d.shape == (9, 5) and int(d[:, 2].argmax()) == 6            # y = linspace(-2, 2, 9)[6] = 1
    imgs = torch.arange(6 * 4).float().reshape(6, 2, 2)
    t = plots.digit_tiles(imgs, ncols=4, frame=1)
    assert t.shape == (8, 16)
    assert torch.equal(t[1:3, 1:3], imgs[0]) and torch.equal(t[1:3, 5:7], imgs[1])
    assert torch.equal(t[5:7, 1:3], imgs[4]) and t[5:7, 9:].abs().sum() == 0   # the two empty tiles
    assert t[0].abs().sum() == 0 and t[:, 0].abs().sum() == 0                    # the frame is blank
    assert torch.equal(plots.digit_tiles(imgs.reshape(6, 4), ncols=4), t)        # rows of H·W pixels too
    fig, ax = plt.subplots()
    plots.show_digits(ax, imgs, ncols=3, levels=24, title="t")
    plots.show_density(ax, d, (-2, 2, -2, 2), "p")
    plt.close(fig)
    with pytest.raises(ValueError, match="digit_tiles: images must be"):
        plots.digit_tiles(torch.zeros(2, 5), ncols=2)
    with pytest.raises(ValueError, match=r"density_on_grid: extent must be \(x0, x1, y0, y1\)"):
        plots.density_on_grid(lambda x: x[:, 0], (0, 1), 3)
