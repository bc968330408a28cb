#!/usr/bin/env python3
"""Fits the two polynomials of the engine's exact GELU (Sources/Model/Kernels/SIMDMath.swift).

* Q(t) in Φ(-|x|) = t · exp(-x²/2) · Q(t), t = 1/(1 + p·z), z = |x|/√2: Q(t) = erfcx(z) / (2t),
  degree 8, p = 0.375, fitted for |x| ≤ 13.2 (beyond that exp(-x²/2) is flushed to 0).
* q(r) in exp(r) ≈ 1 + r + r²·q(r) on |r| ≤ ln2/2, degree 4 (exp's polynomial of degree 6).

Both minimise the maximum RELATIVE error (what GELU's test measures) by Lawson's iteration:
weighted least squares whose weights grow where the error is largest, converging to the minimax
fit. Prints the coefficients (lowest degree first) and the fit's own error; the float32 kernel
adds a few rounding errors on top (KernelMathTests measures the whole). Needs numpy and scipy.
"""
import numpy as np
from scipy.special import erfcx


def lawson(x, target, basis, fixed=0.0, iterations=80):
    """Coefficients c minimising max |(fixed + basis·c) / target - 1| over the sample points x."""
    weights = np.full(len(x), 1.0 / len(x))
    for _ in range(iterations):
        a = basis / target[:, None] * np.sqrt(weights)[:, None]
        b = (1 - fixed / target) * np.sqrt(weights)
        c, *_ = np.linalg.lstsq(a, b, rcond=None)
        error = (fixed + basis @ c) / target - 1
        weights = weights * np.abs(error)
        weights /= weights.sum()
    return c, np.max(np.abs(error))


def chebyshev_points(lo, hi, n=6000):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def fit_q(p=0.375, degree=8, xmax=13.2):
    t = chebyshev_points(1 / (1 + p * xmax / np.sqrt(2)), 1.0)
    z = (1 / t - 1) / p
    return lawson(t, erfcx(z) / (2 * t), np.vander(t, degree + 1, increasing=True))


def fit_exp(degree=6):
    half = np.log(2) / 2 * 1.0005   # the reduction's |r| can exceed ln2/2 by rounding
    r = chebyshev_points(-half, half)
    return lawson(r, np.exp(r), np.vander(r, degree - 1, increasing=True) * (r * r)[:, None], fixed=1 + r)


if __name__ == "__main__":
    for name, (coefficients, error) in (("Q(t)", fit_q()), ("exp q(r)", fit_exp())):
        print(f"{name}: max relative error {error:.2e}")
        for c in coefficients:
            print(f"  {float(c)!r}")
