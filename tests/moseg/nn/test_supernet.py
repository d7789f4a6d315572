import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from moseg.nn import SegmentationNetwork, Supernet, build_network
from moseg.nn.blocks import PooledSelfAttention, TokenAttention
from moseg.nn.layers import ElasticBatchNorm2d, ElasticConv2d, HeadConv1x1
from moseg.space import Arch, AttentionBlock, Branch, ConvBlock, SearchSpace, count_flops, count_params

NUM_CLASSES = 5
SPACE = SearchSpace()


@pytest.fixture(scope="module")
def supernet() -> Supernet:
    torch.manual_seed(0)
    net = Supernet(SPACE, NUM_CLASSES)
    with torch.no_grad():  # non-trivial BatchNorm state, so that slicing mistakes show in the outputs
        for m in net.modules():
            if isinstance(m, ElasticBatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def sample_archs() -> list[Arch]:
    return [SPACE.min_arch(), SPACE.max_arch()] + [SPACE.decode(x) for x in SPACE.sample(20, seed=11)]


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("arch", sample_archs(), ids=lambda a: f"{len(a.branches)}br")
def test_extracted_network_equals_supernet_and_analytic_counts(supernet, arch):
    x = torch.randn(2, 3, 61, 83)  # odd size: exercises the rounding of every stride-2 layer
    supernet.set_active(arch)
    with torch.no_grad():
        expected = supernet(x)
        net = supernet.extract()
        got = net(x)
    assert type(net) is SegmentationNetwork and not net.training
    assert got.shape == (2, NUM_CLASSES, 61, 83)
    assert relative_error(got, expected) <= 1e-5
    assert not any(isinstance(m, (ElasticConv2d, ElasticBatchNorm2d, HeadConv1x1)) for m in net.modules())
    assert sum(p.numel() for p in net.parameters()) == count_params(arch, NUM_CLASSES)
    assert counted_macs(net, (61, 83)) == count_flops(arch, NUM_CLASSES, (61, 83))


def counted_macs(net: nn.Module, size: tuple[int, int]) -> int:
    """Multiply-accumulates seen by forward hooks: convolutions and the attention matrix products."""
    total = 0

    def conv_hook(module, inputs, output):
        nonlocal total
        kh, kw = module.kernel_size
        total += output[0].numel() * (module.in_channels // module.groups) * kh * kw

    def attention_hook(module, inputs, output):
        nonlocal total
        q, k, _ = inputs
        total += 2 * q.shape[1] * q.shape[2] * k.shape[2] * q.shape[3]

    handles = [
        m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else attention_hook)
        for m in net.modules() if isinstance(m, (nn.Conv2d, TokenAttention))
    ]
    with torch.no_grad():
        net(torch.randn(1, 3, *size))
    for handle in handles:
        handle.remove()
    return total


def test_extract_leaves_the_active_arch_and_copies_weights(supernet):
    active = supernet.set_active(SPACE.min_arch())
    net = supernet.extract(SPACE.max_arch())
    assert supernet.active_arch == active
    conv = net.stem.layers[0].conv
    assert conv.weight.data_ptr() != supernet.stem.layers[0].conv.weight.data_ptr()


def attention_arch(heads: int, head_dim: int) -> Arch:
    block = AttentionBlock(heads=heads, head_dim=head_dim, kv_pool=8, expand=2)
    return Arch(16, 64, (Branch(32, (block,)),))


def test_multi_head_sharing_uses_leading_heads_and_dims_only(supernet):
    arch = attention_arch(heads=2, head_dim=16)  # the supernet stores 4 heads of 32 dims
    supernet.set_active(arch)
    attention = supernet.hr.blocks[0].ops["attention"]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        reference = supernet(x)

        def output_after(perturb) -> torch.Tensor:
            saved = [p.detach().clone() for p in (attention.q.weight, attention.out_proj.weight)]
            perturb(attention.q.weight, attention.out_proj.weight)
            out = supernet(x)
            attention.q.weight.copy_(saved[0])
            attention.out_proj.weight.copy_(saved[1])
            return out

        unused_head = output_after(lambda q, o: (q[3].add_(1.0), o[:, 3].add_(1.0)))
        unused_dims = output_after(lambda q, o: (q[0, 16:].add_(1.0), o[:, 0, 16:].add_(1.0)))
        used_head = output_after(lambda q, o: q[1, :16].add_(0.5))
    assert torch.equal(unused_head, reference)
    assert torch.equal(unused_dims, reference)
    assert relative_error(used_head, reference) > 1e-3


def test_head_i_of_a_subnet_is_a_prefix_of_the_full_head_i():
    layer = HeadConv1x1(channels=8, heads=4, head_dim=6, to_heads=True)
    x = torch.randn(1, 8, 3, 3)
    full = layer(x).reshape(4, 6, 3, 3)
    layer.configure(channels=8, heads=2, head_dim=3)
    sub = layer(x).reshape(2, 3, 3, 3)
    assert torch.allclose(sub, full[:2, :3], atol=1e-6)


def test_gradients_reach_only_the_active_slices(supernet):
    arch = Arch(24, 96, (
        Branch(48, (ConvBlock(5, 2, 4), attention_arch(2, 16).branches[0].blocks[0])),
        Branch(96, (ConvBlock(3, 1, 2),), fuse_after=1),
    ))
    supernet.set_active(arch)
    supernet.train()
    supernet.zero_grad(set_to_none=True)
    try:
        supernet(torch.randn(2, 3, 48, 48)).square().mean().backward()
    finally:
        supernet.eval()
    hr_conv = supernet.hr.blocks[0].ops["conv"]
    dw = hr_conv.dw.conv
    grad = dw.weight.grad  # max shape (64*6, 1, 7, 7); active: 48*4 channels, centre 5x5
    assert grad[: 48 * 4, :, 1:6, 1:6].abs().sum() > 0
    mask = torch.ones_like(grad, dtype=torch.bool)
    mask[: 48 * 4, :, 1:6, 1:6] = False
    assert grad[mask].abs().sum() == 0
    q = supernet.hr.blocks[1].ops["attention"].q.weight.grad  # (4 heads, 32 dims, 64 channels)
    assert q[:2, :16, :48].abs().sum() > 0
    assert q[2:].abs().sum() == 0 and q[:, 16:].abs().sum() == 0 and q[:, :, 48:].abs().sum() == 0
    assert supernet.hr.blocks[0].ops["attention"].q.weight.grad is None  # family not chosen
    assert supernet.hr.blocks[2].ops["conv"].dw.conv.weight.grad is None  # beyond the depth
    assert supernet.lower[1].transition.conv.weight.grad is None  # absent branch
    supernet.zero_grad(set_to_none=True)


def test_batchnorm_updates_only_the_active_statistics():
    net = Supernet(SPACE, NUM_CLASSES)
    net.set_active(SPACE.min_arch())
    bn = net.stem.layers[0].bn
    before = bn.running_mean.clone()
    net.train()
    with torch.no_grad():
        net(torch.randn(2, 3, 32, 32))
    assert not torch.equal(bn.running_mean[:16], before[:16])
    assert torch.equal(bn.running_mean[16:], before[16:])


def test_hierarchical_sampling_is_uniform_over_families_first():
    net = Supernet(SPACE, NUM_CLASSES)
    rng = np.random.default_rng(0)
    ops, kernels, heads, depths, n_lower = [], [], [], [], []
    for _ in range(10_000):
        arch = net.sample_active(rng)
        assert net.active_arch == arch
        n_lower.append(len(arch.branches) - 1)
        for branch in arch.branches:
            depths.append(branch.depth)
            for block in branch.blocks:
                ops.append(block.op)
                if block.op == "conv":
                    kernels.append(block.kernel)
                else:
                    heads.append(block.heads)
    share_attention = np.mean([op == "attention" for op in ops])
    assert abs(share_attention - 0.5) < 0.02  # a flat (family, config) draw would give 36/54 = 0.67
    for values, choices in ((kernels, SPACE.kernels), (heads, SPACE.heads), (depths, range(1, 5)), (n_lower, range(4))):
        freq = np.array([np.mean(np.array(values) == c) for c in choices])
        assert np.all(np.abs(freq - 1 / len(choices)) < 0.03)


def test_sandwich_extremes_and_errors(supernet):
    assert supernet.activate_max() == SPACE.max_arch()
    assert supernet.activate_min() == SPACE.min_arch()
    bad = SPACE.xl.copy()
    bad[0] = 7
    with pytest.raises(ValueError, match="'stem_width'"):
        supernet.set_active(bad)
    with pytest.raises(ValueError, match="'b0.width' = 40 is not offered"):
        supernet.set_active(Arch(16, 64, (Branch(40, (ConvBlock(3, 1, 2),)),)))
    with pytest.raises(ValueError, match="num_classes = 0"):
        Supernet(SPACE, 0)


def test_attention_memory_is_bounded_by_pooled_tokens():
    block = PooledSelfAttention.elastic(width=16, max_heads=2, max_head_dim=8, max_kv_pool=4, max_expand=2)
    block.eval()
    captured = {}
    block.attend.register_forward_hook(lambda m, inputs, out: captured.update(k=inputs[1].shape))
    with torch.no_grad():
        block(torch.randn(1, 16, 40, 50))
    assert captured["k"] == (1, 2, 16, 8)  # 40x50 pixels attend to 4x4 pooled tokens


def test_output_at_one_eighth_without_the_final_upsampling():
    space = SearchSpace(stem_widths=(8,), branch_widths=((16,), (24,)), head_widths=(16,), max_depth=1)
    net = Supernet(space, 3).extract(space.max_arch()).eval()
    image = torch.randn(1, 3, 64, 96)
    full = net(image)
    net.upsample_output = False
    low = net(image)
    assert full.shape == (1, 3, 64, 96) and low.shape == (1, 3, 8, 12)
    assert torch.allclose(F.interpolate(low, size=(64, 96), mode="bilinear", align_corners=False), full)


@pytest.mark.parametrize("arch", sample_archs()[:6], ids=lambda a: f"{len(a.branches)}br")
def test_a_network_built_alone_is_the_extracted_one_without_the_supernet(arch):
    torch.manual_seed(0)
    extracted = Supernet(SPACE, NUM_CLASSES).extract(arch).state_dict()
    for space in (SPACE, None):
        built = build_network(arch, NUM_CLASSES, space)
        assert type(built) is SegmentationNetwork and built.training
        assert not any(isinstance(m, (ElasticConv2d, ElasticBatchNorm2d, HeadConv1x1)) for m in built.modules())
        state = built.state_dict()
        assert list(state) == list(extracted) and all(state[k].shape == extracted[k].shape for k in state)
        assert sum(p.numel() for p in built.parameters()) == count_params(arch, NUM_CLASSES)
        zero_scaled = [k for k, v in extracted.items() if k.endswith("bn.weight") and not v.any()]
        assert all(not state[k].any() for k in zero_scaled)  # residual branches start as no-ops, as in the supernet


def test_a_network_built_with_its_space_draws_each_layer_at_the_supernet_size():
    """Given the space, a layer's initial weights have the spread of the supernet's layer at its position (the
    extracted network's), not the larger spread of a layer drawn at its own, smaller size."""
    arch = SPACE.min_arch()
    torch.manual_seed(0)
    extracted = Supernet(SPACE, NUM_CLASSES).extract(arch).state_dict()
    at_supernet_size, at_own_size = (build_network(arch, NUM_CLASSES, space).state_dict() for space in (SPACE, None))
    key = "hr.blocks.0.dw.conv.weight"  # 3x3 depthwise, sliced from the supernet's 7x7 of 6x the width
    stds = {name: float(state[key].std()) for name, state in
            (("extracted", extracted), ("supernet size", at_supernet_size), ("own size", at_own_size))}
    assert stds["supernet size"] == pytest.approx(stds["extracted"], rel=0.2)
    assert stds["own size"] > 2 * stds["extracted"]


def test_a_network_built_with_its_space_refuses_a_value_the_space_does_not_offer():
    arch = SPACE.min_arch()
    wider = Arch(arch.stem_width, arch.head_width, (Branch(40, arch.branches[0].blocks),))
    with pytest.raises(ValueError, match=r"gene 'b0.width' = 40 is not offered"):
        build_network(wider, NUM_CLASSES, SPACE)
    with pytest.raises(ValueError, match="num_classes = 0"):
        build_network(arch, 0)
