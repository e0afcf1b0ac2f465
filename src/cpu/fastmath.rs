//! `exp`, `tanh`, `ln` and `ln_1p` for the CPU backend's elementwise loops, written so the
//! compiler vectorises them: Cephes' single-precision algorithms, branch-free
//! (both sides computed, one selected), multiplies and adds only (Rust never
//! contracts them into fused multiply-adds), so every x86 or ARM path gives
//! the same bits. libm's `expf`/`tanhf` are calls per element that no loop
//! vectorises: they were a fifth of a Mult-VAE step on the CPU backend.
//!
//! Accuracy (checked against f64 in the tests below): `exp` within 2 ulp on
//! [−87.3, 88.7], 0 below (e^−87.34 is the smallest normal result; the exact
//! value there is subnormal or 0) and +∞ above; `tanh` within 3 ulp; NaN in,
//! NaN out; `ln` within 2 ulp on positive normal numbers and `ln_1p` within
//! 3 ulp on [0, 10⁶] (the range the losses give it). The GPU's WGSL `exp`/`tanh` are the driver's own, so GPU ≡ CPU
//! holds within a tolerance either way.

/// e^x (Cephes' coefficients as published; each rounds to the f32 it names).
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so n · LN2_HI is exact for |n| ≤ 2^9.
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const LO: f32 = -87.336_54;
    const HI: f32 = 88.722_83;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding and subtracting it rounds to the nearest integer
    let xc = x.clamp(LO, HI);
    let shifted = xc * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let p = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 5.000_000_1e-1)
        * (r * r)
        + r
        + 1.0;
    // n read from the rounded sum's mantissa (integer ops, no float-to-int
    // conversion), and 2^n as two normal powers of two (n runs from −126 to 128).
    let n = shifted.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let half = n >> 1;
    let scale_a = f32::from_bits(((half + 127) as u32) << 23);
    let scale_b = f32::from_bits(((n - half + 127) as u32) << 23);
    let y = p * scale_a * scale_b;
    if x < LO {
        0.0
    } else if x > HI {
        f32::INFINITY
    } else {
        y
    }
}

#[allow(clippy::excessive_precision)]
/// tanh x: an odd polynomial below |x| = 0.625, 1 − 2 / (e^{2|x|} + 1) above.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let small = ((((-5.704_988_7e-3 * z + 2.063_908_9e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z
        - 3.333_328_2e-1)
        * z
        * x
        + x;
    let large = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
    let large = if x < 0.0 { -large } else { large };
    if a < 0.625 {
        // x³·P(x²) + x would turn −0 into +0.
        if x == 0.0 {
            x
        } else {
            small
        }
    } else if x.is_nan() {
        x
    } else {
        large
    }
}

/// ln x for a positive normal `x` (Cephes' logf: x = m · 2^e with m in
/// [√½, √2), ln m by a degree-9 polynomial in m − 1). Zero, negative,
/// subnormal and non-finite inputs are outside its range (callers pass 1 + e^−|x|).
#[allow(clippy::excessive_precision)]
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    const SQRT_HALF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let bits = x.to_bits();
    // frexp: m in [0.5, 1), x = m · 2^e.
    let mut e = ((bits >> 23) & 0xff) as i32 - 126;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f00_0000);
    let t = if m < SQRT_HALF {
        e -= 1;
        m + m - 1.0
    } else {
        m - 1.0
    };
    let z = t * t;
    let mut y = ((((((((7.037_683_6e-2 * t - 1.151_461_0e-1) * t + 1.167_699_9e-1) * t - 1.242_014_1e-1) * t
        + 1.424_932_3e-1)
        * t
        - 1.666_805_8e-1)
        * t
        + 2.000_071_5e-1)
        * t
        - 2.499_999_4e-1)
        * t
        + 3.333_333_1e-1)
        * t
        * z;
    let fe = e as f32;
    y += -2.121_944_4e-4 * fe;
    y += -0.5 * z;
    (t + y) + 0.693_359_375 * fe
}

/// ln(1 + x) for finite x ≥ 0, accurate for small x too: ln u · x / (u − 1)
/// with u = 1 + x (the rounding of u cancels), x itself where u rounds to 1.
#[inline(always)]
pub fn ln_1p(x: f32) -> f32 {
    let u = 1.0 + x;
    let l = ln(u) * (x / (u - 1.0));
    if u == 1.0 {
        x
    } else {
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        if got == w {
            return 0.0;
        }
        let spacing = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        ((got as f64 - want) / spacing).abs()
    }

    fn points() -> impl Iterator<Item = f32> {
        let grid = (0..200_001).map(|i| -100.0 + i as f32 * 1e-3);
        let small = (0..20_001).map(|i| -1.0 + i as f32 * 1e-4);
        let tiny = (-40..=40).map(|e| 2f32.powi(e)).flat_map(|v| [v, -v]);
        grid.chain(small).chain(tiny).chain([0.0, -0.0, 1e-38, -1e-38])
    }

    #[test]
    fn exp_is_within_2_ulp_and_saturates() {
        for x in points() {
            let want = (x as f64).exp();
            let got = exp(x);
            if x < -87.336_54 {
                assert_eq!(got, 0.0, "exp({x})");
            } else if want > f32::MAX as f64 {
                assert_eq!(got, f32::INFINITY, "exp({x})");
            } else {
                assert!(ulps(got, want) <= 2.0, "exp({x}) = {got}, want {want} ({} ulp)", ulps(got, want));
            }
        }
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn ln_and_ln_1p_are_within_2_and_3_ulp() {
        let positives = (0..=60_000).map(|i| 2f32.powf(-125.0 + i as f32 * (252.0 / 60_000.0)));
        for x in positives.chain((1..=20_000).map(|i| 0.5 + i as f32 * 1e-4)) {
            let (got, want) = (ln(x), (x as f64).ln());
            assert!(ulps(got, want) <= 2.0, "ln({x}) = {got}, want {want} ({} ulp)", ulps(got, want));
        }
        let small = (0..=40_000).map(|i| 2f32.powf(-40.0 + i as f32 * (60.0 / 40_000.0)));
        for x in small.chain((0..=10_000).map(|i| i as f32 * 1e-4)) {
            let (got, want) = (ln_1p(x), (x as f64).ln_1p());
            assert!(ulps(got, want) <= 3.0, "ln_1p({x}) = {got}, want {want} ({} ulp)", ulps(got, want));
        }
        assert_eq!(ln_1p(0.0), 0.0);
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn tanh_is_within_3_ulp() {
        for x in points() {
            let want = (x as f64).tanh();
            let got = tanh(x);
            assert!(ulps(got, want) <= 3.0, "tanh({x}) = {got}, want {want} ({} ulp)", ulps(got, want));
        }
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
    }
}
