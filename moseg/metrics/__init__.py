"""How a network is scored: segmentation metrics and BatchNorm recalibration (`segmentation`), and the calibration
and validation data every stage scores networks on (`scoring`)."""
