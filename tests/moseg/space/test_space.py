import dataclasses
import itertools
import json

import numpy as np
import pytest

from moseg.space import Arch, AttentionBlock, Branch, ConvBlock, SearchSpace
from moseg.space.ops import OPERATORS, BlockSpec, Operator, register_operator

SPACE = SearchSpace()


def uniform_vectors(space: SearchSpace, n: int, seed: int) -> np.ndarray:
    """Vectors drawn uniformly in the box, not canonical: inactive genes hold arbitrary values."""
    return np.random.default_rng(seed).integers(space.xl, space.xu + 1, size=(n, space.n_var))


def tiny_space() -> SearchSpace:
    return SearchSpace(
        stem_widths=(8,), branch_widths=((8, 16), (16,)), head_widths=(8,), max_depth=2, kernels=(3,),
        dilations=(1,), expand_ratios=(2,), heads=(1, 2), head_dims=(4,), kv_pools=(2,),
    )


def test_bounds_are_integer_arrays_of_n_var():
    assert SPACE.xl.shape == SPACE.xu.shape == (SPACE.n_var,)
    assert SPACE.xl.dtype.kind == SPACE.xu.dtype.kind == "i"
    assert np.all(SPACE.xl <= SPACE.xu)
    assert [g.name for g in SPACE.genes][:3] == ["stem_width", "head_width", "n_lower"]


def test_space_holds_at_least_1e12_networks():
    assert SPACE.log10_size() >= 12


def test_size_matches_brute_force_count_of_canonical_vectors():
    space = tiny_space()
    ranges = [range(lo, hi + 1) for lo, hi in zip(space.xl, space.xu, strict=True)]
    all_vectors = np.array(list(itertools.product(*ranges)))
    distinct = {tuple(v) for v in space.canonical(all_vectors)}
    assert len(distinct) == space.size()
    assert len({json.dumps(space.decode(np.array(v)).to_dict()) for v in distinct}) == len(distinct)


def test_canonical_is_idempotent_and_decode_ignores_inactive_genes():
    X = uniform_vectors(SPACE, 500, seed=1)
    C = SPACE.canonical(X)
    assert np.array_equal(SPACE.canonical(C), C)
    for x, c in zip(X[:200], C[:200], strict=True):
        arch = SPACE.decode(x)
        assert arch == SPACE.decode(c)
        assert np.array_equal(SPACE.encode(arch), c)


def test_single_gene_mutations_change_the_network_iff_they_change_the_canonical_vector():
    rng = np.random.default_rng(2)
    X = uniform_vectors(SPACE, 100, seed=2)
    changed = unchanged = 0
    for x in X:
        for gene in rng.choice(SPACE.n_var, size=20, replace=False):
            y = x.copy()
            y[gene] = rng.integers(SPACE.xl[gene], SPACE.xu[gene] + 1)
            same_vector = np.array_equal(SPACE.canonical(x), SPACE.canonical(y))
            assert same_vector == (SPACE.decode(x) == SPACE.decode(y))
            changed += not same_vector
            unchanged += same_vector
    assert changed > 100 and unchanged > 100  # both cases were exercised


def test_inactive_genes_are_set_to_lower_bound():
    x = SPACE.xu.copy()
    x[SPACE.index("n_lower")] = 1  # branches 2 and 3 absent
    x[SPACE.index("b0.depth")] = 2
    x[SPACE.index("b1.fuse_after")] = 4  # beyond the HR depth of 2
    x[SPACE.index("b1.k0.op")] = 0  # conv: its attention genes are unused
    c = SPACE.canonical(x)
    assert c[SPACE.index("b1.fuse_after")] == 2
    for name in ("b2.width", "b2.depth", "b3.k3.kernel", "b0.k2.op", "b0.k3.heads", "b1.k0.heads", "b1.k0.kv_pool"):
        assert c[SPACE.index(name)] == SPACE.xl[SPACE.index(name)], name
    assert c[SPACE.index("b1.k0.kernel")] == SPACE.xu[SPACE.index("b1.k0.kernel")]
    assert c[SPACE.index("b1.k0.expand")] == SPACE.xu[SPACE.index("b1.k0.expand")]


def test_json_round_trip_is_exact_and_readable():
    for x in SPACE.sample(300, seed=3):
        arch = SPACE.decode(x)
        text = json.dumps(arch.to_dict())
        assert Arch.from_dict(json.loads(text)) == arch
    data = SPACE.max_arch().to_dict()
    assert data["branches"][3]["stride"] == 64
    first_block = {"op": "attention", "heads": 4, "head_dim": 32, "kv_pool": 16, "expand": 6}
    assert data["branches"][0]["blocks"][0] == first_block


def test_min_and_max_arch():
    small, large = SPACE.min_arch(), SPACE.max_arch()
    assert small == Arch(16, 64, (Branch(32, (ConvBlock(3, 1, 2),)),))
    assert len(large.branches) == 4 and all(b.depth == 4 for b in large.branches)
    assert all(isinstance(block, AttentionBlock) for b in large.branches for block in b.blocks)
    assert [b.fuse_after for b in large.branches] == [None, 4, 4, 4]


def test_sample_is_deterministic_canonical_and_in_bounds():
    a, b = SPACE.sample(50, seed=7), SPACE.sample(50, seed=7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, SPACE.sample(50, seed=8))
    assert np.array_equal(SPACE.canonical(a), a)
    assert np.all((a >= SPACE.xl) & (a <= SPACE.xu))


def test_sample_draws_fusion_points_uniformly_over_the_hr_depth():
    X = SPACE.sample(4000, seed=4)
    hr_depth, fuse = X[:, SPACE.index("b0.depth")], X[:, SPACE.index("b1.fuse_after")]
    present = X[:, SPACE.index("n_lower")] >= 1
    deep = present & (hr_depth == 4)
    freq = np.bincount(fuse[deep], minlength=5) / deep.sum()
    assert np.allclose(freq, 0.2, atol=0.05)


@pytest.mark.parametrize(
    "vector, message",
    [
        (np.zeros(5, dtype=int), "expected a vector of 126 genes"),
        (np.zeros((2, 3, 126), dtype=int), "expected a vector of 126 genes"),
    ],
)
def test_wrong_length_is_rejected(vector, message):
    with pytest.raises(ValueError, match=message):
        SPACE.canonical(vector)


def test_out_of_range_gene_is_named_with_its_bounds():
    x = SPACE.xl.copy()
    x[SPACE.index("b1.k2.kernel")] = 3
    with pytest.raises(ValueError, match=r"gene 'b1\.k2\.kernel' \(index \d+\) = 3 is outside its bounds \[0, 2\]"):
        SPACE.decode(x)
    x = SPACE.xl.copy()
    x[SPACE.index("b0.depth")] = 0
    with pytest.raises(ValueError, match=r"'b0\.depth'.*\[1, 4\]"):
        SPACE.canonical(x)


def test_python_integers_of_any_size_are_genes():
    assert SPACE.decode(np.array(SPACE.xl.tolist(), dtype=object)) == SPACE.min_arch()


def test_non_integer_gene_is_rejected():
    x = SPACE.xl.astype(float)
    x[SPACE.index("stem_width")] = 0.5
    with pytest.raises(ValueError, match="'stem_width'.*not an integer"):
        SPACE.decode(x)
    assert SPACE.decode(SPACE.xl.astype(float)) == SPACE.min_arch()  # integral floats are fine


@pytest.mark.parametrize(("change", "message"), [
    (lambda x: x.astype(bool), r"genes must be integers; got an array of bool \(e.g. False\)"),
    (lambda x: x.astype(str), r"genes must be integers; got an array of <U\d+"),
    (lambda x: np.array(["2", *x[1:]], dtype=object), r"genes must be integers; got an array of object \(e.g. '2'\)"),
    (lambda x: np.where(np.arange(len(x)) == 0, 1e20, x), r"'stem_width' \(index 0\) = 1e\+20 is outside its bounds"),
    (lambda x: [-2**70, *x[1:].tolist()], r"'stem_width' \(index 0\) = -1180591620717411303424 is"),
    (lambda x: np.where(np.arange(len(x)) == 0, np.nan, x), r"'stem_width' \(index 0\) = nan is not an integer"),
    (lambda x: np.where(np.arange(len(x)) == 0, np.inf, x), r"'stem_width' \(index 0\) = inf is not an integer"),
])
def test_a_vector_that_is_not_integer_genes_is_named_with_its_value(change, message):
    with pytest.raises(ValueError, match=message):
        SPACE.decode(change(SPACE.xl.copy()))


@pytest.mark.parametrize(("field", "value", "message"), [
    ("stem_width", True, "'stem_width' = True is not an integer"),
    ("stem_width", 16.0, "'stem_width' = 16.0 is not an integer"),
    ("head_width", "64", r"'head_width' = '64' is outside its bounds|'head_width' = '64' is not offered"),
])
def test_encode_refuses_booleans_floats_and_strings_for_integer_genes(field, value, message):
    good = SPACE.min_arch()
    with pytest.raises(ValueError, match=message):
        SPACE.encode(dataclasses.replace(good, **{field: value}))


def test_encode_refuses_a_fractional_fusion_point():
    good = SPACE.min_arch()
    lower = Branch(64, (ConvBlock(3, 1, 2),), fuse_after=0.5)
    with pytest.raises(ValueError, match=r"'b1\.fuse_after' = 0.5 is not an integer"):
        SPACE.encode(Arch(16, 64, (good.branches[0], lower)))


def test_encode_rejects_values_the_space_does_not_offer():
    good = SPACE.min_arch()
    with pytest.raises(ValueError, match=r"'stem_width' = 17 is not offered; expected one of \[16, 24, 32\]"):
        SPACE.encode(Arch(17, good.head_width, good.branches))
    bad_kernel = Branch(32, (ConvBlock(kernel=9, dilation=1, expand=2),))
    with pytest.raises(ValueError, match=r"'b0\.k0\.kernel' = 9"):
        SPACE.encode(Arch(16, 64, (bad_kernel,)))
    lower = Branch(64, (ConvBlock(3, 1, 2),), fuse_after=2)
    with pytest.raises(ValueError, match=r"'b1\.fuse_after' = 2, expected an integer in \[0, 1\]"):
        SPACE.encode(Arch(16, 64, (good.branches[0], lower)))
    too_deep = Branch(32, (ConvBlock(3, 1, 2),) * 5)
    with pytest.raises(ValueError, match=r"'b0\.depth' = 5 is outside its bounds \[1, 4\]"):
        SPACE.encode(Arch(16, 64, (too_deep,)))


def test_from_dict_rejects_unknown_and_missing_keys():
    data = SPACE.min_arch().to_dict()
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"):
        Arch.from_dict({**data, "colour": 1})
    block = data["branches"][0]["blocks"][0]
    with pytest.raises(ValueError, match=r"unknown keys \['heads'\].*missing keys \['dilation'\]"):
        Arch.from_dict(_with_block(data, {"op": "conv", "kernel": 3, "expand": 2, "heads": 1}))
    with pytest.raises(ValueError, match=r"\['op'\] = 'mlp', expected one of \['attention', 'conv'\]"):
        Arch.from_dict(_with_block(data, {**block, "op": "mlp"}))
    with pytest.raises(ValueError, match=r"\['stride'\] = 16, expected 8"):
        Arch.from_dict({**data, "branches": [{**data["branches"][0], "stride": 16}]})
    with pytest.raises(ValueError, match=r"\['kernel'\] = '3', expected an integer"):
        Arch.from_dict(_with_block(data, {**block, "kernel": "3"}))


def _with_block(data: dict, block: dict) -> dict:
    branch = {**data["branches"][0], "blocks": [block]}
    return {**data, "branches": [branch]}


def test_constructor_rejects_bad_choice_lists():
    with pytest.raises(ValueError, match="kernels.*odd"):
        SearchSpace(kernels=(3, 4))
    with pytest.raises(ValueError, match="head_dims.*strictly increasing"):
        SearchSpace(head_dims=(32, 16))
    with pytest.raises(ValueError, match="branch_widths has 5 branches"):
        SearchSpace(branch_widths=((8,),) * 5)
    with pytest.raises(ValueError, match="unknown gene 'b9.depth'"):
        SPACE.index("b9.depth")


@pytest.mark.parametrize(("options", "message"), [
    ({"ops": [["conv"]]}, r"ops = \[\['conv'\]\], expected a non-empty list of operator names from \['attention'"),
    ({"ops": ["separable"]}, r"ops = \['separable'\], expected a non-empty list of operator names"),
    ({"ops": ["conv", "conv"]}, r"ops = \['conv', 'conv'\] names an operator twice"),
    ({"kernels": [3], "block_choices": {"kernel": [5]}}, r"kernels and block_choices\['kernel'\] both set"),
    ({"block_choices": {"width": [1]}}, r"choices given for \['width'\], which no operator of ops="),
    ({"ops": ["attention"], "kernels": [3]}, r"choices given for \['kernels'\], which no operator"),
    ({"block_choices": {"kernel": [3, 4]}}, r"block_choices\['kernel'\] = \(3, 4\), expected odd kernel sizes"),
])
def test_bad_operator_settings_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace(**options)


def test_an_operator_needs_a_dataclass_block_of_its_own():
    class NotADataclass(BlockSpec):
        op = "plain"

    class Plain(Operator):
        block = NotADataclass
        choices = {}

        def cost(self, block, width, size):
            return 0, 0

    with pytest.raises(ValueError, match="`block` must be a BlockSpec dataclass"):
        register_operator(Plain)
    assert "plain" not in OPERATORS


def test_gene_names_cover_every_block_gene():
    names = {g.name for g in SPACE.genes}
    assert SPACE.block_genes == ("op", "kernel", "dilation", "expand", "heads", "head_dim", "kv_pool")
    assert {f"b3.k3.{g}" for g in SPACE.block_genes} <= names
    assert SPACE.n_var == 3 + 4 * 2 + 3 + 4 * 4 * len(SPACE.block_genes)
