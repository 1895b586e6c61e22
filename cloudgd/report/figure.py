"""The report figure: loss, validation metric, learning rate and gradient norm panels.

One run or many (``--compare``, tuning trials): each run gets one colour, training
curves are solid and validation curves dashed. matplotlib is imported here only,
when a figure is drawn, through its object API (no pyplot, no global state), so
`cloudgd --help` never pays for it and drawing works headless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudgd.errors import MissingExtraError
from cloudgd.report.curves import METRIC_TITLES, RunCurves, Series, run_curves, wide_range
from cloudgd.report.runfiles import RunData

PANELS = ("loss", "val_metric", "lr", "grad_norm")
_TITLES = {
    "loss": "Loss (train solid, validation dashed)",
    "lr": "Learning rate",
    "grad_norm": "Gradient norm (before clipping)",
}
_MAX_LEGEND_RUNS = 12
_DPI = 150


@dataclass(frozen=True)
class Line:
    """A line as drawn: which run, which series, and its values."""

    run: str
    series: Series
    style: str  # "train", "val" or "step"


@dataclass
class FigureData:
    """What the figure shows, panel by panel: read back by tests and the Markdown."""

    path: Path
    panels: dict[str, list[Line]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)


def _import_matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)  # files only: no display, no GUI toolkit
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(
            "cloudgd report needs matplotlib, which is not installed",
            hint="pip install 'cloudgd[plots]'",
        ) from None
    return Figure


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    return [colormaps["viridis"](i / max(1, n - 1)) for i in range(n)]


def plan_lines(curves: Sequence[RunCurves]) -> dict[str, list[Line]]:
    """The lines of each panel (pure): what :func:`plot_runs` will draw."""
    panels: dict[str, list[Line]] = {name: [] for name in PANELS}
    for run in curves:
        train = run.train_loss if len(run.train_loss) else run.train_loss_epoch
        if len(train):
            panels["loss"].append(Line(run.label, train, "train"))
        if len(run.val_loss):
            panels["loss"].append(Line(run.label, run.val_loss, "val"))
        if run.val_metric is not None and len(run.val_metric):
            panels["val_metric"].append(Line(run.label, run.val_metric, "val"))
        if len(run.lr):
            panels["lr"].append(Line(run.label, run.lr, "step"))
        if len(run.grad_norm):
            panels["grad_norm"].append(Line(run.label, run.grad_norm, "step"))
    return panels


def _metric_title(curves: Sequence[RunCurves]) -> str:
    names = sorted({c.val_metric.name for c in curves if c.val_metric is not None})
    if not names:
        return "Validation metric (none logged)"
    return " / ".join(METRIC_TITLES.get(n, n) for n in names).capitalize()


def _draw_panel(
    ax: Any, lines: list[Line], colour_of: dict[str, Any], single: bool, log_ratio: float
) -> None:
    for line in lines:
        colour = colour_of[line.run]
        many_points = len(line.series) > 40
        if line.style == "val":
            ax.plot(
                line.series.x,
                line.series.y,
                linestyle="--",
                marker=None if many_points else "o",
                markersize=3.5,
                linewidth=1.6,
                color=colour,
                label=f"{line.run} validation" if not single else "validation",
            )
        else:
            ax.plot(
                line.series.x,
                line.series.y,
                linewidth=1.4,
                color=colour,
                alpha=0.9,
                label=(line.run if not single else "train"),
            )
    values = tuple(v for line in lines for v in line.series.y)
    if wide_range(values, log_ratio):
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel("optimizer step")
    if not lines:
        ax.text(0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes)


def _mark_best(ax: Any, line: Line, mode: str) -> None:
    ys = line.series.y
    best = max(range(len(ys)), key=ys.__getitem__) if mode == "max" else ys.index(min(ys))
    ax.annotate(
        f"best {ys[best]:.4g}",
        (line.series.x[best], ys[best]),
        xytext=(6, -14 if mode == "max" else 10),
        textcoords="offset points",
        fontsize=8,
    )
    ax.plot([line.series.x[best]], [ys[best]], marker="*", markersize=10, color="black")


def plot_runs(runs: Sequence[RunData], path: Path, *, title: str) -> FigureData:
    """Draw ``runs`` (one or many, overlaid) into the PNG ``path``; return what was drawn."""
    figure_cls = _import_matplotlib()
    curves = [run_curves(run) for run in runs]
    panels = plan_lines(curves)
    titles = {**_TITLES, "val_metric": _metric_title(curves)}
    single = len(runs) == 1
    colour_of = dict(zip([c.label for c in curves], _colours(len(curves)), strict=True))

    fig = figure_cls(figsize=(11, 7.2), dpi=_DPI, layout="constrained")
    axes = fig.subplots(2, 2)
    for ax, name in zip(axes.flat, PANELS, strict=True):
        # A schedule reads best on a linear axis; only step decays spanning decades go log.
        _draw_panel(ax, panels[name], colour_of, single, 1000.0 if name == "lr" else 30.0)
        ax.set_title(titles[name], fontsize=11)
    loss_ax, metric_ax, lr_ax, grad_ax = axes.flat
    loss_ax.set_ylabel("loss (objective)")
    metric_name = next((c.val_metric.name for c in curves if c.val_metric is not None), None)
    metric_ax.set_ylabel({"val_accuracy": "accuracy (fraction correct)"}.get(metric_name or "", ""))
    lr_ax.set_ylabel("learning rate")
    grad_ax.set_ylabel("L2 norm of the gradient")
    if lr_ax.get_yscale() == "linear":
        lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    if single and panels["val_metric"]:
        _mark_best(metric_ax, panels["val_metric"][0], "min" if metric_name == "val_mse" else "max")
    if single:
        if loss_ax.get_legend_handles_labels()[0]:
            loss_ax.legend(fontsize=9, loc="best")
    else:
        handles, labels = [], []
        for label, colour in list(colour_of.items())[:_MAX_LEGEND_RUNS]:
            handles.append(loss_ax.plot([], [], color=colour, linewidth=2)[0])
            labels.append(label)
        if len(colour_of) > _MAX_LEGEND_RUNS:
            labels[-1] = f"… {len(colour_of) - _MAX_LEGEND_RUNS + 1} more"
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=min(len(labels), 4),
            fontsize=9,
            frameon=False,
        )
    fig.suptitle(title, fontsize=13, fontweight="bold")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return FigureData(path=path, panels=panels, titles=titles)
