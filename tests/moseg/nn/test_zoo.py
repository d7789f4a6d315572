import math
import re

import pytest
import torch
import torch.nn.functional as F

from moseg.latency import measure_latency
from moseg.nn.zoo import BASELINES, build_baseline, lraspp_mobilenetv3_large, lraspp_mobilenetv3_small

NAMES = sorted(BASELINES)
NUM_CLASSES = 11


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny at test sizes; one intra-op thread avoids oversubscription on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module", params=NAMES)
def baseline(request):
    torch.manual_seed(0)
    return build_baseline(request.param, NUM_CLASSES)


def test_registry_names():
    assert NAMES == ["lraspp_mobilenetv3_large", "lraspp_mobilenetv3_small"]


def test_output_shapes_for_sizes_not_multiple_of_32(baseline):
    net = baseline.eval()
    x = torch.randn(1, 3, 72, 100)
    with torch.no_grad():
        assert net(x).shape == (1, NUM_CLASSES, 72, 100)
        net.upsample_output = False
        try:
            # three stride-2 convs with 'same' padding: each maps n to ceil(n / 2), so 1/8 is ceil(n / 8)
            assert net(x).shape == (1, NUM_CLASSES, math.ceil(72 / 8), math.ceil(100 / 8)) == (1, NUM_CLASSES, 9, 13)
        finally:
            net.upsample_output = True


def test_latency_protocol_without_final_upsample(baseline):
    result = measure_latency(baseline, (1, 3, 64, 96), "cpu", "float32", "eager", final_upsample=False,
                             min_repeats=3, min_time_s=0.0, warmup_chunk=2, max_warmup_chunks=2)
    assert result.median_ms > 0 and result.repeats >= 3
    assert baseline.upsample_output  # measured on a copy


def test_training_step_gives_finite_gradients(baseline):
    net = baseline.train()
    net.zero_grad()
    torch.manual_seed(1)
    x = torch.randn(2, 3, 48, 64)
    labels = torch.randint(0, NUM_CLASSES, (2, 48, 64))
    loss = F.cross_entropy(net(x), labels)
    loss.backward()
    assert torch.isfinite(loss)
    for name, param in net.named_parameters():
        assert param.requires_grad
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
    net.zero_grad()


def test_parameter_counts():
    large, small = lraspp_mobilenetv3_large(NUM_CLASSES), lraspp_mobilenetv3_small(NUM_CLASSES)
    # Full tail by default: torchvision's LR-ASPP MobileNetV3-Large has 3,221,538 parameters with 21 classes.
    assert n_params(lraspp_mobilenetv3_large(21)) == 3_221_538
    assert n_params(large) == 3_219_838 and n_params(small) == 1_076_414
    # The paper's segmentation setting halves the last stage, which removes about 1.5 M parameters.
    assert n_params(lraspp_mobilenetv3_large(NUM_CLASSES, reduced_tail=True)) == 1_745_518
    assert n_params(lraspp_mobilenetv3_small(NUM_CLASSES, reduced_tail=True)) == 514_382
    assert n_params(small) < n_params(large)


def test_architecture_follows_the_paper():
    large = lraspp_mobilenetv3_large(NUM_CLASSES)
    assert (large.backbone.low_channels, large.backbone.high_channels) == (40, 960)
    small = lraspp_mobilenetv3_small(NUM_CLASSES)
    assert (small.backbone.low_channels, small.backbone.high_channels) == (24, 576)
    reduced = lraspp_mobilenetv3_large(NUM_CLASSES, reduced_tail=True)
    assert (reduced.backbone.low_channels, reduced.backbone.high_channels) == (40, 480)
    dilated = [m for m in large.modules() if isinstance(m, torch.nn.Conv2d) and m.dilation != (1, 1)]
    assert len(dilated) == 3 and all(m.stride == (1, 1) and m.kernel_size == (5, 5) for m in dilated)


def test_initialisation_is_seeded_and_eval_is_deterministic():
    for name in NAMES:
        torch.manual_seed(3)
        a = build_baseline(name, NUM_CLASSES)
        torch.manual_seed(3)
        b = build_baseline(name, NUM_CLASSES)
        for (key, pa), pb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(pa, pb), key
        bn = [m for m in a.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert all(torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in bn)
        a.eval()
        x = torch.randn(1, 3, 40, 56)
        with torch.no_grad():
            assert torch.equal(a(x), a(x))


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="'deeplab'.*lraspp_mobilenetv3_large"):
        build_baseline("deeplab", NUM_CLASSES)
    for bad in (0, -3, 2.5, True, "11"):
        with pytest.raises(ValueError, match=re.escape(f"num_classes = {bad!r}")):
            build_baseline("lraspp_mobilenetv3_small", bad)
