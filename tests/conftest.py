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


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray instance for a module's tests that need one (2 CPUs and a custom resource `device_test`, standing
    for a target device's node), shut down after the module; skipped, saying why, without the ray extra."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, resources={"device_test": 1}, include_dashboard=False, logging_level="ERROR",
                 log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()
