"""The single-model surrogates; importing this package registers them."""

from surrogates.models.gp import GPSurrogate
from surrogates.models.linear import RidgeSurrogate
from surrogates.models.neural import MLPSurrogate, RankNetSurrogate
from surrogates.models.rbf import RBFSurrogate
from surrogates.models.trees import RandomForestSurrogate, XGBSurrogate

__all__ = ["GPSurrogate", "MLPSurrogate", "RBFSurrogate", "RandomForestSurrogate", "RankNetSurrogate",
           "RidgeSurrogate", "XGBSurrogate"]
