"""Integer encoding of the hierarchical hybrid search space.

Network level: how many lower-resolution branches (1/16, 1/32, 1/64) sit beside the 1/8 branch, each
branch's width and depth, and after which high-resolution block each lower branch fuses in. Cell level, per
block: the operator family (by default inverted-residual convolution or pooled multi-head self-attention; any
family registered in `moseg.space.ops`) and that family's configuration. Every gene is an integer in [xl, xu];
choice genes index into the choice lists.

Identity is expressed through elastic depth (blocks beyond a branch's depth are skipped) rather than a
per-block "skip" operator, which would give one network many encodings.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from moseg.space.arch import Arch, Block, Branch
from moseg.space.ops import OPERATORS, Operator

DEFAULT_OPS = ("conv", "attention")
# the keywords that name the built-in families' gene choices, and the genes they set
CHOICE_KEYWORDS = {"kernels": "kernel", "dilations": "dilation", "expand_ratios": "expand", "heads": "heads",
                   "head_dims": "head_dim", "kv_pools": "kv_pool"}


@dataclass(frozen=True)
class Gene:
    """One integer variable: its name (e.g. ``b1.k2.kernel``), inclusive bounds, and the values it selects
    (``None`` when the gene's integer is its own value, as for depths)."""

    name: str
    low: int
    high: int
    choices: tuple | None = None


class SearchSpace:
    """The default space holds about 10^32.7 distinct networks (see `log10_size`).

    Choice lists are keyword arguments so a study can shrink or widen the space; `branch_widths` has one
    tuple per branch (its length, 2 to 4, sets the lowest resolution: 1/16 to 1/64). `ops` names the operator
    families a block chooses from (registered in `moseg.space.ops`); a gene's choices default to those of the
    first family (in `ops` order) that has it, and are replaced by `block_choices` ({gene: values}) or, for the
    built-in genes, by the keywords `kernels`, `dilations`, `expand_ratios`, `heads`, `head_dims` and `kv_pools`.
    The order of `ops` is the op gene's order: the last family is the one `max_arch` (every gene at its upper
    bound) is built of.
    """

    def __init__(
        self,
        *,
        stem_widths: Sequence[int] = (16, 24, 32),
        branch_widths: Sequence[Sequence[int]] = ((32, 48, 64), (64, 96, 128), (96, 128, 192), (128, 192, 256)),
        head_widths: Sequence[int] = (64, 96, 128),
        max_depth: int = 4,
        ops: Sequence[str] = DEFAULT_OPS,
        block_choices: Mapping[str, Sequence[int]] | None = None,
        kernels: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        expand_ratios: Sequence[int] | None = None,
        heads: Sequence[int] | None = None,
        head_dims: Sequence[int] | None = None,
        kv_pools: Sequence[int] | None = None,
    ) -> None:
        if not 1 <= len(branch_widths) <= 4:
            raise ValueError(f"branch_widths has {len(branch_widths)} branches, expected 1 to 4 (1/8 to 1/64)")
        if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError(f"max_depth = {max_depth!r}, expected an integer >= 1")
        self.max_depth = max_depth
        self.stem_widths = _choices("stem_widths", stem_widths)
        self.branch_widths = tuple(_choices(f"branch_widths[{i}]", w) for i, w in enumerate(branch_widths))
        self.head_widths = _choices("head_widths", head_widths)
        self.operators = _operators(ops)
        self.ops = tuple(op.name for op in self.operators)
        keywords = {"kernels": kernels, "dilations": dilations, "expand_ratios": expand_ratios, "heads": heads,
                    "head_dims": head_dims, "kv_pools": kv_pools}
        self.block_choices = self._resolve_block_choices(block_choices or {}, keywords)
        self.block_genes = ("op", *self.block_choices)
        # the built-in genes' choices under their keyword names (empty when no family of the space has the gene)
        self.kernels, self.dilations, self.expand_ratios, self.heads, self.head_dims, self.kv_pools = (
            self.block_choices.get(gene, ()) for gene in CHOICE_KEYWORDS.values())
        self.genes = self._build_genes()
        self._index = {gene.name: i for i, gene in enumerate(self.genes)}
        self.xl = np.array([g.low for g in self.genes], dtype=np.int64)
        self.xu = np.array([g.high for g in self.genes], dtype=np.int64)

    # ----------------------------------------------------------------------------------------- layout
    @property
    def n_var(self) -> int:
        return len(self.genes)

    @property
    def num_branches(self) -> int:
        """Branches the space can hold, the 1/8 branch included."""
        return len(self.branch_widths)

    def _resolve_block_choices(self, given: Mapping[str, Sequence[int]],
                               keywords: dict[str, Sequence[int] | None]) -> dict[str, tuple[int, ...]]:
        """Each block gene of the space's families (in order of first appearance) with its choices: a keyword's or
        `given`'s, else the default of the first family (in `ops` order) that has the gene."""
        if not isinstance(given, Mapping):
            raise ValueError(f"block_choices = {given!r}, expected a mapping of gene name to choices")
        defaults: dict[str, tuple[int, ...]] = {}
        for op in self.operators:
            for gene in op.genes:
                defaults.setdefault(gene, op.choices[gene])
        unknown = sorted(set(given) - set(defaults)) + [
            keyword for keyword, values in keywords.items()
            if values is not None and CHOICE_KEYWORDS[keyword] not in defaults]
        if unknown:
            raise ValueError(f"choices given for {unknown}, which no operator of ops={list(self.ops)} has; its genes "
                             f"are {sorted(defaults)}")
        overrides = {CHOICE_KEYWORDS[k]: (k, v) for k, v in keywords.items() if v is not None}
        twice = sorted(set(overrides) & set(given))
        if twice:
            keyword = overrides[twice[0]][0]
            raise ValueError(f"{keyword} and block_choices[{twice[0]!r}] both set the choices of gene {twice[0]!r}; "
                             "give one of them")
        resolved = {}
        for gene, default in defaults.items():
            name, values = overrides.get(gene, (f"block_choices[{gene!r}]", given.get(gene, default)))
            resolved[gene] = _choices(name, values)
            for op in self.operators:
                problem = op.check_choices(gene, resolved[gene]) if gene in op.genes else None
                if problem:
                    raise ValueError(f"{name} = {tuple(values)!r}, {problem}")
        return resolved

    def op_choices(self, op: str) -> dict[str, tuple[int, ...]]:
        """The choices of each gene of the family `op`, as this space offers them."""
        return {gene: self.block_choices[gene] for gene in OPERATORS[op].genes}

    def _build_genes(self) -> tuple[Gene, ...]:
        genes = [
            _choice_gene("stem_width", self.stem_widths),
            _choice_gene("head_width", self.head_widths),
            Gene("n_lower", 0, self.num_branches - 1),
        ]
        block_choices = {"op": self.ops, **self.block_choices}
        for b, widths in enumerate(self.branch_widths):
            genes += [_choice_gene(f"b{b}.width", widths), Gene(f"b{b}.depth", 1, self.max_depth)]
            if b > 0:
                genes.append(Gene(f"b{b}.fuse_after", 0, self.max_depth))
            for k in range(self.max_depth):
                genes += [_choice_gene(f"b{b}.k{k}.{name}", block_choices[name]) for name in self.block_genes]
        return tuple(genes)

    def index(self, name: str) -> int:
        """Position of the gene called `name` in a vector."""
        if name not in self._index:
            raise ValueError(f"unknown gene {name!r}; genes are named like 'b0.depth' or 'b1.k0.kernel'")
        return self._index[name]

    # ------------------------------------------------------------------------------------- validation
    def validate(self, x: np.ndarray | Sequence) -> np.ndarray:
        """Return `x` as an int64 array (one vector or a 2-D batch), or raise ValueError naming the first
        gene that is not an integer within its bounds."""
        arr = np.asarray(x)
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.n_var:
            raise ValueError(f"expected a vector of {self.n_var} genes (or a 2-D batch of them), got shape {arr.shape}")
        python_ints = arr.dtype.kind == "O" and all(_is_integer(v) for v in arr.flat)  # e.g. 2**70 in a list
        if arr.dtype.kind not in "iuf" and not python_ints:
            raise ValueError(f"genes must be integers; got an array of {arr.dtype} (e.g. {_plain(arr.flat[0])!r})")
        if arr.dtype.kind == "f":
            bad = np.argwhere(~np.isfinite(arr) | (arr != np.round(arr)))
            if len(bad):
                col = int(bad[0][-1])
                raise ValueError(f"gene {self.genes[col].name!r} (index {col}) = {_plain(arr[tuple(bad[0])])!r} is "
                                 "not an integer")
        out = (arr < self.xl) | (arr > self.xu)  # compared before any cast, so 1e20 is reported as itself
        if out.any():
            where = tuple(np.argwhere(out)[0])
            gene = self.genes[where[-1]]
            raise ValueError(
                f"gene {gene.name!r} (index {where[-1]}) = {_plain(arr[where])!r} is outside its bounds [{gene.low}, "
                f"{gene.high}]"
            )
        return arr.astype(np.int64)

    # ---------------------------------------------------------------------------------- canonical form
    def canonical(self, x: np.ndarray | Sequence) -> np.ndarray:
        """Set every gene that has no effect to its lower bound, so two vectors that describe the same
        network become equal: genes of absent branches, of blocks beyond a branch's depth, of the families a
        block does not use; and `fuse_after` clipped to the high-resolution depth."""
        arr = self.validate(x)
        X = np.atleast_2d(arr).copy()
        n_lower = X[:, self.index("n_lower")]
        hr_depth = X[:, self.index("b0.depth")]
        for b in range(self.num_branches):
            cols = self._branch_columns(b)
            if b > 0:
                fuse = self.index(f"b{b}.fuse_after")
                X[:, fuse] = np.minimum(X[:, fuse], hr_depth)
                absent = n_lower < b
                X[np.ix_(absent, cols)] = self.xl[cols]
            depth = X[:, self.index(f"b{b}.depth")]
            for k in range(self.max_depth):
                block_cols = [self.index(f"b{b}.k{k}.{name}") for name in self.block_genes]
                unused = depth <= k
                X[np.ix_(unused, block_cols)] = self.xl[block_cols]
                for index, op in enumerate(self.operators):
                    rows = X[:, block_cols[0]] == index
                    cols_off = [self.index(f"b{b}.k{k}.{name}") for name in self.block_genes[1:]
                                if name not in op.genes]
                    X[np.ix_(rows, cols_off)] = self.xl[cols_off]
        return X[0] if arr.ndim == 1 else X

    def _branch_columns(self, b: int) -> list[int]:
        prefix = f"b{b}."
        return [i for i, gene in enumerate(self.genes) if gene.name.startswith(prefix)]

    # -------------------------------------------------------------------------------- decode / encode
    def decode(self, x: np.ndarray | Sequence) -> Arch:
        """The network a single gene vector describes."""
        v = self.canonical(x)
        if v.ndim != 1:
            raise ValueError(f"decode takes one vector of {self.n_var} genes, got shape {v.shape}")

        def value(name: str):
            gene = self.genes[self.index(name)]
            raw = int(v[self.index(name)])
            return gene.choices[raw] if gene.choices is not None else raw

        branches = []
        for b in range(1 + value("n_lower")):
            blocks = tuple(self._decode_block(value, f"b{b}.k{k}.") for k in range(value(f"b{b}.depth")))
            fuse_after = value(f"b{b}.fuse_after") if b > 0 else None
            branches.append(Branch(value(f"b{b}.width"), blocks, fuse_after))
        return Arch(value("stem_width"), value("head_width"), tuple(branches))

    @staticmethod
    def _decode_block(value, prefix: str) -> Block:
        op = OPERATORS[value(prefix + "op")]
        return op.block(**{gene: value(prefix + gene) for gene in op.genes})

    def encode(self, arch: Arch) -> np.ndarray:
        """The canonical vector of `arch`; ValueError names any value the space does not offer."""
        if not isinstance(arch, Arch):
            raise ValueError(f"encode takes an Arch, got {type(arch).__name__}")
        v = self.xl.copy()

        def put(name: str, val: int) -> None:
            gene = self.genes[self.index(name)]
            if isinstance(val, bool) or not isinstance(val, int | np.integer | str):
                raise ValueError(f"gene {name!r} = {val!r} is not an integer (or a family name)")
            if gene.choices is not None:
                if val not in gene.choices or type(val) is not type(gene.choices[gene.choices.index(val)]):
                    raise ValueError(f"gene {name!r} = {val!r} is not offered; expected one of {list(gene.choices)}")
                val = gene.choices.index(val)
            elif isinstance(val, str) or not gene.low <= val <= gene.high:
                raise ValueError(f"gene {name!r} = {val!r} is outside its bounds [{gene.low}, {gene.high}]")
            v[self.index(name)] = val

        if not 1 <= len(arch.branches) <= self.num_branches:
            raise ValueError(f"arch has {len(arch.branches)} branches, expected 1 to {self.num_branches}")
        put("stem_width", arch.stem_width)
        put("head_width", arch.head_width)
        put("n_lower", len(arch.branches) - 1)
        hr_depth = arch.branches[0].depth
        for b, branch in enumerate(arch.branches):
            put(f"b{b}.width", branch.width)
            put(f"b{b}.depth", branch.depth)
            if b > 0:
                if branch.fuse_after is None or not 0 <= branch.fuse_after <= hr_depth:
                    raise ValueError(
                        f"gene 'b{b}.fuse_after' = {branch.fuse_after!r}, expected an integer in [0, {hr_depth}] "
                        f"(the high-resolution branch has {hr_depth} blocks)"
                    )
                put(f"b{b}.fuse_after", branch.fuse_after)
            elif branch.fuse_after is not None:
                raise ValueError(
                    f"the 1/8 branch cannot fuse into itself: fuse_after = {branch.fuse_after!r}, expected None"
                )
            for k, block in enumerate(branch.blocks):
                prefix = f"b{b}.k{k}."
                put(prefix + "op", block.op)
                for name in OPERATORS[block.op].genes:
                    put(prefix + name, getattr(block, name))
        return v

    # ------------------------------------------------------------------------------------- sampling
    def sample(self, n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """`n` canonical vectors drawn hierarchically: network level first (branch count, widths, depths,
        fusion point uniform over the high-resolution depth), then per block the family uniformly, then that
        family's configuration uniformly. Because family and configuration are separate genes, attention is
        drawn as often as convolution whatever the number of configurations of each."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n = {n!r}, expected a non-negative integer")
        rng = np.random.default_rng(seed)
        X = rng.integers(self.xl, self.xu + 1, size=(int(n), self.n_var))
        hr_depth = X[:, self.index("b0.depth")]
        for b in range(1, self.num_branches):
            X[:, self.index(f"b{b}.fuse_after")] = rng.integers(0, hr_depth + 1)
        return self.canonical(X)

    def max_arch(self) -> Arch:
        """Every gene at its upper bound: all branches, full depth, widest, attention with most heads."""
        return self.decode(self.xu)

    def min_arch(self) -> Arch:
        """Every gene at its lower bound: the 1/8 branch alone, narrowest, one block of the first family of `ops`
        (for the default space a 3x3 convolution)."""
        return self.decode(self.xl)

    # ----------------------------------------------------------------------------------------- size
    def block_configs(self) -> list[Block]:
        """Every block the space allows, family by family in the order of `ops`."""
        configs = []
        for op in self.operators:
            for values in itertools.product(*(self.block_choices[gene] for gene in op.genes)):
                configs.append(op.block(*values))
        return configs

    def num_block_configs(self) -> int:
        return len(self.block_configs())

    def size(self) -> int:
        """Exact number of distinct canonical networks."""
        per_block = self.num_block_configs()
        depths = range(1, self.max_depth + 1)
        chain = sum(per_block**d for d in depths)  # block sequences of one branch, any depth
        total = 0
        for n_lower in range(self.num_branches):
            hr = len(self.branch_widths[0]) * sum(per_block**d * (d + 1) ** n_lower for d in depths)
            lower = math.prod(len(self.branch_widths[b]) * chain for b in range(1, n_lower + 1))
            total += hr * lower
        return len(self.stem_widths) * len(self.head_widths) * total

    def log10_size(self) -> float:
        """log10 of the number of distinct canonical networks."""
        return math.log10(self.size())

    def summary(self) -> str:
        """A few lines a person reads to know the space."""
        lines = [
            f"moseg search space: {self.n_var} integer genes, 10^{self.log10_size():.2f} distinct networks",
            f"  branches: 1/8 always, up to {self.num_branches - 1} lower "
            f"(down to 1/{8 * 2 ** (self.num_branches - 1)}), depth 1..{self.max_depth} blocks each",
            f"  widths: stem {list(self.stem_widths)}, head {list(self.head_widths)}, "
            + ", ".join(f"1/{8 * 2**b} {list(w)}" for b, w in enumerate(self.branch_widths)),
        ]
        lines += [f"  {op.name} blocks: " + " x ".join(f"{gene} {list(self.block_choices[gene])}" for gene in op.genes)
                  for op in self.operators]
        return "\n".join(lines)


def _choices(name: str, values: Sequence[int]) -> tuple[int, ...]:
    if isinstance(values, str) or not isinstance(values, Sequence | np.ndarray):
        raise ValueError(f"{name} = {values!r}, expected a non-empty list of positive integers")
    values = tuple(values)
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in values):
        raise ValueError(f"{name} = {values!r}, expected a non-empty list of positive integers")
    if list(values) != sorted(set(values)):
        raise ValueError(f"{name} = {values!r}, expected strictly increasing values")
    return tuple(int(v) for v in values)


def _operators(ops: Sequence[str]) -> tuple[Operator, ...]:
    """The registered families named by `ops`, checked: a non-empty list of distinct registered names."""
    if isinstance(ops, str) or not isinstance(ops, Sequence) or not ops or not all(
            isinstance(name, str) and name in OPERATORS for name in ops):
        raise ValueError(f"ops = {ops!r}, expected a non-empty list of operator names from {sorted(OPERATORS)}")
    if len(set(ops)) != len(ops):
        raise ValueError(f"ops = {list(ops)!r} names an operator twice")
    return tuple(OPERATORS[name] for name in ops)


def _choice_gene(name: str, choices: tuple) -> Gene:
    return Gene(name, 0, len(choices) - 1, choices)


def _is_integer(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (so messages read 1e+20, not np.float64(1e+20))."""
    return value.item() if isinstance(value, np.generic) else value
