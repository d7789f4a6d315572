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
