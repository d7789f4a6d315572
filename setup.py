from setuptools import find_packages, setup

setup(
    name="moseg",
    version="0.1.0",
    description="Surrogate-assisted multi-objective evolutionary NAS for real-time semantic segmentation",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["moseg", "moseg.*", "surrogates", "surrogates.*"]),
    package_data={"moseg.jobs": ["*.yaml"]},  # the demo's pipeline config
    install_requires=[
        "torch>=2.1",
        "numpy>=1.24",
        "pymoo>=0.6",
        "scikit-learn>=1.6",  # validate_data and estimator checks with expected_failed_checks
        "scipy>=1.10",  # rank correlations and the RBF solve (installed with scikit-learn)
        "threadpoolctl>=3",  # BLAS thread limits of the surrogates (installed with scikit-learn)
        "xgboost>=1.7",
        "pandas>=2.0",
        "matplotlib>=3.7",
        "joblib>=1.3",
        "pillow>=9",
        "pyyaml>=6",
        "tqdm>=4.60",
    ],
    extras_require={
        "test": ["pytest>=7", "ruff>=0.4"],
        "onnx": ["onnx>=1.16", "onnxruntime>=1.18", "onnxscript>=0.3"],  # ONNX export and ONNX Runtime latency
        "ray": ["ray>=2.9"],  # candidate evaluation and retraining on a pool of Ray workers
    },
    entry_points={"console_scripts": ["moseg = moseg.cli:main"]},
)
