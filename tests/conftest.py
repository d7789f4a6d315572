import os
from pathlib import Path

import pytest

CAMVID = Path(os.environ.get("MOSEG_CAMVID_ROOT", Path(__file__).parents[2] / "shared" / "data" / "camvid"))


@pytest.fixture
def camvid_root() -> Path:
    """The real CamVid copy (SegNet layout); the test is skipped, with the reason, where it is absent."""
    if not (CAMVID / "train").is_dir():
        pytest.skip(f"CamVid not found at {CAMVID}; set MOSEG_CAMVID_ROOT to the SegNet-layout copy "
                    "(../shared/data/camvid)")
    return CAMVID


@pytest.fixture
def restore_registries():
    """`restore_registries(*registries)`: the plug-ins a test registers in those registries are removed after it, so
    the other tests see the built-in ones only."""
    watched = []
    yield lambda *registries: watched.extend((registry, set(registry)) for registry in registries)
    for registry, names in watched:
        for name in set(registry) - names:
            del registry[name]
