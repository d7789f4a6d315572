"""Performance predictors for integer-encoded NAS problems (scikit-learn estimators and their metrics).

A standalone library: it imports nothing from `moseg`. The predictors arrive with the surrogate issue; this
package is installed now so that the layout promised in DESIGN.md holds from the first commit.
"""
