"""ui/labels.py: one display name per value, tied to the registries the tables describe."""

from __future__ import annotations

import pytest

from normviz.core import inputs, norms
from normviz.experiments import coupling, cube, gradient_flow, hypersphere, jacobian
from ui import labels


def test_every_norm_has_one_label_and_nothing_else_does():
    assert tuple(labels.NORMS) == norms.NORMS


def test_every_input_kind_has_one_label_then_the_real_ones():
    pools = tuple(k for k in labels.POOL_KINDS if k not in labels.REAL_KINDS)
    assert tuple(labels.KINDS) == (*inputs.KINDS, *labels.REAL_KINDS, *pools)
    assert all(f"**{labels.KINDS[k]}**" in labels.POOL_KIND_HELP for k in labels.POOL_KINDS)
    assert all(f"**{labels.KINDS[k]}**" in labels.KIND_HELP for k in inputs.KINDS)


@pytest.mark.parametrize(
    ("table", "registry"),
    [
        (labels.PLACEMENTS, gradient_flow.PLACEMENTS),
        (labels.UPSTREAM, jacobian.UPSTREAM),
        (labels.DIRECTIONS, coupling.DIRECTIONS),
    ],
)
def test_page_tables_name_exactly_their_registry(table, registry):
    assert tuple(table) == tuple(registry)


def test_pages_offer_subsets_of_the_norm_table():
    for offered in (hypersphere.SPHERE_NORMS, cube.CUBE_NORMS, gradient_flow.NORMS, jacobian.NORMS):
        assert set(offered) <= set(labels.NORMS)


def test_labels_are_unique_within_a_table():
    for table in labels.TABLES:
        assert len(set(table.values())) == len(table)


def test_old_spellings_map_to_current_labels():
    current = {v for t in labels.TABLES for v in t.values()}
    assert set(labels.LEGACY.values()) <= current
    assert not set(labels.LEGACY) & current  # an old spelling is never a current label of something else


def test_url_forms_names_every_table_a_value_is_in():
    assert labels.url_forms("layernorm") == {
        "LayerNorm",
        "projection + scaling (LayerNorm)",
    }  # a norm; an attention variant
    assert labels.url_forms("pca") == {"top 3 PCs"}
    assert labels.url_forms("no-such-value") == set()


def test_a_module_name_breaks_only_after_its_dots_and_is_escaped():
    assert labels.module_html("encoder.layer.0.output.LayerNorm") == (
        "<code>encoder.<wbr>layer.<wbr>0.<wbr>output.<wbr>LayerNorm</code>"
    )
    assert labels.module_html("norm") == "<code>norm</code>"
    # another model's names are not ours: markup in them is shown, never run
    assert labels.module_html('h.<img src=x onerror="alert(1)">') == (
        "<code>h.<wbr>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</code>"
    )
