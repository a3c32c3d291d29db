import matplotlib.pyplot as plt

from nanozoo.core import plots
from nanozoo.core.runlog import MetricsLog, write_config


def test_loss_curves_label_and_style_each_series_and_title_the_run(tmp_path, monkeypatch):
    run_dir = tmp_path / "shakespeare-char-cpu" / "20260101-120000"
    run_dir.mkdir(parents=True)
    write_config(run_dir, "shakespeare-char-cpu", {}, ["train.lr=0.01", "model.n_layer=2"])
    log = MetricsLog(run_dir)
    log.write(0, 0.0, train_eval_loss=4.2, val_loss=4.2)  # identical at step 0: one must not hide the other
    for step in (1, 2):
        log.write(step, 1.0, train_loss=3.0 - step / 10)
    log.write(2, 2.0, train_eval_loss=2.5, val_loss=2.6, test_loss=2.7)
    figs = []
    monkeypatch.setattr(plots, "save", lambda fig, path: figs.append(fig) or path)
    plots.loss_curves(run_dir)
    (ax,) = figs[0].axes
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"train (batch)", "train (eval)", "val"}  # test_* is the final figure, not a curve
    styles = {(ln.get_linestyle(), ln.get_marker(), ln.get_color()) for ln in lines.values()}
    assert len(styles) == 3  # each series is distinguishable
    # where train (eval) and val agree, the thin dashed line lies over the wide one
    batch, evals, val = lines["train (batch)"], lines["train (eval)"], lines["val"]
    assert evals.get_zorder() > val.get_zorder() > batch.get_zorder()
    assert val.get_linewidth() > evals.get_linewidth()
    title = ax.get_title()
    assert (
        title.startswith("shakespeare-char-cpu  (20260101-120000)")
        and "train.lr=0.01  model.n_layer=2" in title
    )
    plt.close(figs[0])


def test_loss_curves_of_a_folder_without_config_still_draw(tmp_path):
    MetricsLog(tmp_path).write(1, 0.0, train_loss=1.0, my_aux_loss=0.5)
    assert plots.loss_curves(tmp_path).is_file()


def test_image_grid_symmetric_puts_zero_in_the_middle_of_the_colour_map():
    import numpy as np

    w = np.array([[[1.0, -3.0], [0.0, 2.0]], [[0.5, 0.25], [0.0, 0.1]]])  # two 2x2 filters
    fig = plots.image_grid(w, ["a", "b"], symmetric=True, cmap="RdBu_r")
    assert [ax.images[0].get_clim() for ax in fig.axes[:2]] == [(-3.0, 3.0), (-0.5, 0.5)]
    fig = plots.image_grid(w, ["a", "b"])  # default: each image stretched over [0, 1]
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), [[0.8, 0.0], [0.6, 1.0]])
