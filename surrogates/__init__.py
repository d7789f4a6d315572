"""Performance predictors for integer-encoded NAS problems: scikit-learn estimators and their metrics.

A standalone library (it imports nothing from `moseg`). Every surrogate takes a table of integer genes X
(one row per architecture) and a measured target y (accuracy, mIoU, latency):

    from surrogates import AdaptiveSwitching, make_surrogate
    model = make_surrogate("xgb").fit(X, y)            # any name from list_surrogates()
    picker = AdaptiveSwitching(random_state=0).fit(X, y)
    print(picker.cv_scores_, picker.chosen_)

Modules: `encoders` (gene encoders), `registry`, `models` (single models), `ensemble`, `switching`,
`consensus` (weighted mean of diverse models), `latency` (lookup-table latency model), `metrics`.
"""

from surrogates.base import min_training_rows
from surrogates.consensus import Consensus
from surrogates.encoders import OneHotGeneEncoder, OrdinalGeneEncoder
from surrogates.ensemble import Ensemble
from surrogates.latency import BaselineResidualModel, BlockLatencyModel, BlockLookupTable
from surrogates.models import (
    GPSurrogate,
    MLPSurrogate,
    RandomForestSurrogate,
    RankNetSurrogate,
    RBFSurrogate,
    RidgeSurrogate,
    XGBSurrogate,
)
from surrogates.registry import list_surrogates, make_surrogate, register_surrogate
from surrogates.switching import AdaptiveSwitching

__all__ = [
    "AdaptiveSwitching",
    "BaselineResidualModel",
    "BlockLatencyModel",
    "BlockLookupTable",
    "Consensus",
    "Ensemble",
    "GPSurrogate",
    "MLPSurrogate",
    "OneHotGeneEncoder",
    "OrdinalGeneEncoder",
    "RBFSurrogate",
    "RandomForestSurrogate",
    "RankNetSurrogate",
    "RidgeSurrogate",
    "XGBSurrogate",
    "list_surrogates",
    "make_surrogate",
    "min_training_rows",
    "register_surrogate",
]
