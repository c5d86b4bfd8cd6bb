"""ui.figure_cache: a view's figure and its JSON made once per server, per key and draw settings; a figure not
from the cache serialized every time; a failed build, an eviction and two sessions on the Hypersphere page."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from tests.helpers.apptest import open_page, raw_figure
from ui import figure_cache


@pytest.fixture(autouse=True)
def empty():
    figure_cache.clear()
    yield
    figure_cache.clear()


def _fig(y: float) -> go.Figure:
    return go.Figure(go.Scatter(x=[0.0, 1.0], y=[y, y]))


def test_the_json_of_a_shared_figure_is_made_once_per_settings():
    fig = figure_cache.shared_figure("k", lambda: _fig(2.0))
    made = []

    def make(tag):
        made.append(tag)
        return json.dumps({"tag": tag})

    assert figure_cache.spec_json(fig, (False, True), lambda: make("a")) == '{"tag": "a"}'
    assert figure_cache.spec_json(fig, (False, True), lambda: make("b")) == '{"tag": "a"}'  # kept
    assert figure_cache.spec_json(fig, (True, True), lambda: make("c")) == '{"tag": "c"}'  # other settings
    assert made == ["a", "c"]
    other = _fig(2.0)  # equal, but not from the cache: serialized on every call
    assert figure_cache.spec_json(other, (False, True), lambda: make("d")) == '{"tag": "d"}'
    assert figure_cache.spec_json(other, (False, True), lambda: make("e")) == '{"tag": "e"}'


def test_a_failed_build_leaves_nothing_and_keys_keep_their_own_figures():
    with pytest.raises(ValueError, match="bad"):
        figure_cache.shared_figure("k", lambda: (_ for _ in ()).throw(ValueError("bad")))
    a = figure_cache.shared_figure("k", lambda: _fig(1.0))
    b = figure_cache.shared_figure("j", lambda: _fig(5.0))
    assert list(a.data[0].y) == [1.0, 1.0] and list(b.data[0].y) == [5.0, 5.0]
    assert figure_cache.shared_figure("k", lambda: _fig(9.0)) is a


def test_the_least_recently_used_figure_goes_first(monkeypatch):
    monkeypatch.setattr(figure_cache, "MAX_FIGURES", 2)
    first = figure_cache.shared_figure(1, lambda: _fig(1.0))
    figure_cache.shared_figure(2, lambda: _fig(2.0))
    assert figure_cache.shared_figure(1, lambda: _fig(0.0)) is first  # 1 used again: 2 is the oldest
    figure_cache.shared_figure(3, lambda: _fig(3.0))
    assert figure_cache.shared_figure(1, lambda: _fig(0.0)) is first
    assert list(figure_cache.shared_figure(2, lambda: _fig(7.0)).data[0].y) == [7.0, 7.0]  # built again
    made = []
    figure_cache.spec_json(first, "s", lambda: made.append(1) or "{}")
    figure_cache.spec_json(first, "s", lambda: made.append(1) or "{}")
    assert made == [1]


def test_two_sessions_on_one_view_share_its_figures_and_get_the_same_data(monkeypatch):
    from normviz.figures import charts, scenes

    built = []
    for module, name in [(scenes, "sphere_view_figure"), (charts, "histograms_figure"), (charts, "elementwise_figure")]:
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _name=name, **k: built.append(_name) or _real(*a, **k))
    first, second = open_page("hypersphere"), open_page("hypersphere")
    # once each, not once a session: Home's hero (app.py opens there first) and Hypersphere's three figures
    assert sorted(built) == ["elementwise_figure", "histograms_figure", "sphere_view_figure", "sphere_view_figure"]
    for key in ("hs_view", "hs_hist", "hs_elementwise"):
        assert raw_figure(second, key) == raw_figure(first, key)
    assert raw_figure(first, "hs_view")["layout"]["meta"] == {"link_cameras": True}
    assert raw_figure(first, "hs_hist")["layout"]["meta"] == {"link_cameras": False}
