//! CSR sparse × dense: GPU vs CPU parity, a dense reference, the transpose,
//! and bit-for-bit determinism on the GPU.
mod common;

use common::{assert_close, check, rand_ints, rand_vec, EXACTISH, SUMS};
use gpurec::backend::Shaped;
use gpurec::sparse::CsrHost;
use gpurec::{Act, Backend, Cpu, Gpu};

/// A power-law-ish `rows × cols` matrix: row r has about `max_deg / (r + 1)`
/// entries at random columns (duplicates summed), and every third row is empty.
fn power_law(seed: u64, rows: usize, cols: usize, max_deg: usize) -> CsrHost {
    let mut triplets = Vec::new();
    for r in 0..rows {
        if r % 3 == 2 || cols == 0 {
            continue;
        }
        let deg = max_deg.div_ceil(r + 1);
        let s = seed * 7919 + r as u64;
        let cs = rand_ints(s, deg, cols as u32);
        let vs = rand_vec(s + 1_000_003, deg);
        triplets.extend(cs.into_iter().zip(vs).map(|(c, v)| (r as u32, c, v)));
    }
    CsrHost::from_triplets(rows, cols, &triplets)
}

/// The matrix as a dense row-major `[rows, cols]` array.
fn dense(m: &CsrHost) -> Vec<f32> {
    let mut out = vec![0f32; m.rows * m.cols];
    for r in 0..m.rows {
        for e in m.row_ptr[r] as usize..m.row_ptr[r + 1] as usize {
            out[r * m.cols + m.col_idx[e] as usize] += m.vals[e];
        }
    }
    out
}

/// (rows, cols, d, max row degree): 1, primes, rows·d just past 256, d = 1.
const CASES: &[(usize, usize, usize, usize)] = &[
    (1, 1, 1, 1),
    (7, 13, 1, 9),
    (13, 7, 5, 20),
    (257, 11, 1, 11),
    (1, 29, 257, 40),
    (37, 53, 7, 60),
    (65, 17, 4, 17),
];

#[test]
fn cpu_matches_dense_reference() {
    for &(rows, cols, d, deg) in CASES {
        let m = power_law(rows as u64, rows, cols, deg);
        let x = rand_vec(99, cols * d);
        let a = Cpu.csr(&m).unwrap();
        let xt = Cpu.tensor(&x, &[cols, d]).unwrap();
        let got = Cpu.spmm_csr(&a, &xt);
        assert_eq!(got.dims(), &[rows, d]);
        let want = Cpu.matmul(&Cpu.tensor(&dense(&m), &[rows, cols]).unwrap(), &xt, false, false, None, Act::Identity);
        assert_close(&format!("spmm {rows}x{cols} d={d}"), &Cpu.read(&got).unwrap(), &Cpu.read(&want).unwrap(), SUMS);
        // Empty rows come out as exact zeros.
        let g = Cpu.read(&got).unwrap();
        for r in (0..rows).filter(|&r| m.row_ptr[r] == m.row_ptr[r + 1]) {
            assert!(g[r * d..(r + 1) * d].iter().all(|&v| v == 0.0), "row {r} has no entries");
        }
    }
}

#[test]
fn transpose_matches_dense_transposed_product() {
    for &(rows, cols, d, deg) in CASES {
        let m = power_law(rows as u64 + 5, rows, cols, deg);
        let t = m.transpose();
        let y = rand_vec(7, rows * d);
        let yt = Cpu.tensor(&y, &[rows, d]).unwrap();
        let got = Cpu.spmm_csr(&Cpu.csr(&t).unwrap(), &yt);
        assert_eq!(got.dims(), &[cols, d]);
        let a = Cpu.tensor(&dense(&m), &[rows, cols]).unwrap();
        let want = Cpu.matmul(&a, &yt, true, false, None, Act::Identity);
        let what = format!("spmm Aᵀ {rows}x{cols} d={d}");
        assert_close(&what, &Cpu.read(&got).unwrap(), &Cpu.read(&want).unwrap(), SUMS);

        if let Some(gpu) = common::gpu() {
            let gy = gpu.tensor(&y, &[rows, d]).unwrap();
            let g = gpu.spmm_csr(&gpu.csr(&t).unwrap(), &gy);
            check(&format!("gpu {what}"), &gpu, &g, &got, EXACTISH);
        }
    }
}

fn gpu_spmm(gpu: &Gpu, m: &CsrHost, x: &[f32], d: usize) -> Vec<f32> {
    let a = gpu.csr(m).unwrap();
    let out = gpu.spmm_csr(&a, &gpu.tensor(x, &[m.cols, d]).unwrap());
    assert_eq!(out.dims(), &[m.rows, d]);
    gpu.read(&out).unwrap()
}

#[test]
fn gpu_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let mut cases: Vec<(CsrHost, usize)> =
        CASES.iter().map(|&(rows, cols, d, deg)| (power_law(rows as u64, rows, cols, deg), d)).collect();
    // Empty shapes: no rows, no columns, no entries, d = 0.
    cases.push((CsrHost::from_triplets(0, 5, &[]), 3));
    cases.push((CsrHost::from_triplets(4, 0, &[]), 3));
    cases.push((CsrHost::from_triplets(6, 9, &[]), 2));
    cases.push((power_law(3, 9, 4, 5), 0));
    for (m, d) in cases {
        let x = rand_vec(m.rows as u64 * 31 + d as u64, m.cols * d);
        let want = Cpu.spmm_csr(&Cpu.csr(&m).unwrap(), &Cpu.tensor(&x, &[m.cols, d]).unwrap());
        let got = gpu_spmm(&gpu, &m, &x, d);
        let what = format!("spmm {}x{} nnz={} d={d}", m.rows, m.cols, m.nnz());
        assert_close(&what, &got, &Cpu.read(&want).unwrap(), EXACTISH);
    }
}

#[test]
fn gpu_is_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let m = power_law(42, 67, 41, 80);
    let d = 9;
    let x = rand_vec(3, m.cols * d);
    let first = gpu_spmm(&gpu, &m, &x, d);
    let second = gpu_spmm(&gpu, &m, &x, d);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&first), bits(&second));
}

#[test]
#[should_panic(expected = "spmm_csr: x must be [5, d]")]
fn shape_mismatch_panics() {
    let m = CsrHost::from_triplets(3, 5, &[(0, 1, 1.0)]);
    let _ = Cpu.spmm_csr(&Cpu.csr(&m).unwrap(), &Cpu.zeros(&[4, 2]));
}

/// Rows `sel` of `m` (values kept, rows may repeat) as a new CSR matrix.
fn take_rows(m: &CsrHost, sel: &[u32]) -> CsrHost {
    let trip: Vec<(u32, u32, f32)> = sel
        .iter()
        .enumerate()
        .flat_map(|(q, &r)| {
            let r = r as usize;
            (m.row_ptr[r] as usize..m.row_ptr[r + 1] as usize).map(move |e| (q as u32, m.col_idx[e], m.vals[e]))
        })
        .collect();
    CsrHost::from_triplets(sel.len(), m.cols, &trip)
}

/// `A[rows] · X` against `spmm_csr` of the selected rows (CPU, exact: the
/// same loop), then GPU against CPU, on selections of 1, primes and just past
/// a workgroup of output elements, with repeats and empty rows.
#[test]
fn spmm_csr_rows_matches_cpu() {
    let gpu = common::gpu();
    for &(rows, cols, d, deg) in CASES {
        let m = power_law(rows as u64 + 11, rows, cols, deg);
        let a = Cpu.csr(&m).unwrap();
        let x = rand_vec(rows as u64 + 3, cols * d);
        let xt = Cpu.tensor(&x, &[cols, d]).unwrap();
        for n in [1, 7, 65] {
            let sel = rand_ints(n as u64 * 13 + rows as u64, n, rows as u32);
            let got = Cpu.spmm_csr_rows(&a, &Cpu.index(&sel).unwrap(), &xt);
            assert_eq!(got.dims(), &[n, d]);
            let want = Cpu.spmm_csr(&Cpu.csr(&take_rows(&m, &sel)).unwrap(), &xt);
            let what = format!("spmm_csr_rows {rows}x{cols} d={d} n={n}");
            assert_close(&what, &Cpu.read(&got).unwrap(), &Cpu.read(&want).unwrap(), EXACTISH);
            if let Some(gpu) = &gpu {
                let g = gpu.spmm_csr_rows(
                    &gpu.csr(&m).unwrap(),
                    &gpu.index(&sel).unwrap(),
                    &gpu.tensor(&x, &[cols, d]).unwrap(),
                );
                check(&format!("gpu {what}"), gpu, &g, &got, EXACTISH);
            }
        }
    }
}

#[test]
fn spmm_csr_rows_gpu_is_deterministic_and_poisons_bad_rows() {
    let Some(gpu) = common::gpu() else { return };
    let m = power_law(43, 67, 41, 80);
    let d = 9;
    let (a, x) = (gpu.csr(&m).unwrap(), gpu.tensor(&rand_vec(4, m.cols * d), &[m.cols, d]).unwrap());
    let sel = gpu.index(&rand_ints(5, 70, m.rows as u32)).unwrap();
    let bits = |v: Vec<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    let first = bits(gpu.read(&gpu.spmm_csr_rows(&a, &sel, &x)).unwrap());
    let second = bits(gpu.read(&gpu.spmm_csr_rows(&a, &sel, &x)).unwrap());
    assert_eq!(first, second);
    // Row 67 is outside A: its output row is NaN, the others are untouched.
    let out = gpu.read(&gpu.spmm_csr_rows(&a, &gpu.index(&[0, 67, 1]).unwrap(), &x)).unwrap();
    assert!(out[d..2 * d].iter().all(|v| v.is_nan()), "out-of-range row: {:?}", &out[d..2 * d]);
    assert!(out[..d].iter().chain(&out[2 * d..]).all(|v| v.is_finite()));
}

#[test]
#[should_panic(expected = "spmm_csr_rows: row 3 (position 1) outside A [3, 5]")]
fn spmm_csr_rows_out_of_range_panics_on_cpu() {
    let m = CsrHost::from_triplets(3, 5, &[(0, 1, 1.0)]);
    let _ = Cpu.spmm_csr_rows(&Cpu.csr(&m).unwrap(), &Cpu.index(&[0, 3]).unwrap(), &Cpu.zeros(&[5, 2]));
}

/// Xᵀ · X on a host dense copy (f64 sums), for the reference check.
fn dense_gram(m: &CsrHost) -> Vec<f32> {
    let d = dense(m);
    let c = m.cols;
    let mut g = vec![0f32; c * c];
    for i in 0..c {
        for j in 0..c {
            g[i * c + j] = (0..m.rows).map(|u| d[u * c + i] as f64 * d[u * c + j] as f64).sum::<f64>() as f32;
        }
    }
    g
}

/// (rows, cols, max row degree) of the Gram cases: 1, primes, past 64 and
/// 256 columns, more rows than columns and fewer.
const GRAM_CASES: &[(usize, usize, usize)] =
    &[(1, 1, 1), (7, 13, 9), (13, 7, 20), (65, 17, 17), (37, 53, 60), (20, 257, 90)];

/// The Gram matrix: CPU against a dense host Xᵀ·X, GPU against CPU, and the
/// GPU's chunked densification against the one-chunk run bit for bit.
#[test]
fn gram_matches_cpu() {
    let gpu = common::gpu();
    for &(rows, cols, deg) in GRAM_CASES {
        let m = power_law(rows as u64 + 17, rows, cols, deg);
        let t = m.transpose();
        let got = Cpu.gram(&Cpu.csr(&m).unwrap(), &Cpu.csr(&t).unwrap());
        assert_eq!(got.dims(), &[cols, cols]);
        let what = format!("gram {rows}x{cols} nnz={}", m.nnz());
        // f32 sums of up to `rows` products against f64 ones.
        assert_close(&what, &Cpu.read(&got).unwrap(), &dense_gram(&m), SUMS);
        if let Some(gpu) = &gpu {
            let (x, xt) = (gpu.csr(&m).unwrap(), gpu.csr(&t).unwrap());
            let g = gpu.gram(&x, &xt);
            // The same sum order; only FMA contraction may differ.
            check(&format!("gpu {what}"), gpu, &g, &got, SUMS);
            let whole = gpu.read(&g).unwrap();
            for chunk in [1, 4, 7] {
                let c = gpu.read(&gpu.gram_in_chunks(&x, &xt, chunk)).unwrap();
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&c), bits(&whole), "{what}: chunks of {chunk} rows");
            }
        }
    }
}

#[test]
fn gram_gpu_is_deterministic_and_handles_empty_shapes() {
    let Some(gpu) = common::gpu() else { return };
    let m = power_law(44, 50, 70, 60);
    let (x, xt) = (gpu.csr(&m).unwrap(), gpu.csr(&m.transpose()).unwrap());
    let bits = |v: Vec<f32>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(gpu.read(&gpu.gram(&x, &xt)).unwrap()), bits(gpu.read(&gpu.gram(&x, &xt)).unwrap()));
    for e in [CsrHost::from_triplets(0, 5, &[]), CsrHost::from_triplets(4, 0, &[]), CsrHost::from_triplets(6, 3, &[])] {
        let g = gpu.gram(&gpu.csr(&e).unwrap(), &gpu.csr(&e.transpose()).unwrap());
        assert_eq!(g.dims(), &[e.cols, e.cols]);
        assert!(gpu.read(&g).unwrap().iter().all(|&v| v == 0.0));
    }
}

#[test]
#[should_panic(expected = "gram: xt is [3, 5], want the transpose of x [3, 5]")]
fn gram_wants_the_transpose() {
    let m = CsrHost::from_triplets(3, 5, &[(0, 1, 1.0)]);
    let _ = Cpu.gram(&Cpu.csr(&m).unwrap(), &Cpu.csr(&CsrHost::from_triplets(3, 5, &[(0, 1, 1.0)])).unwrap());
}

/// Selected rows of a CSR matrix densified: the CPU against the dense
/// matrix's rows, the GPU bit for bit against the CPU (a copy, no
/// arithmetic), on 1, primes and outputs just past a workgroup, with
/// repeated and empty rows; an out-of-range row is NaN on the GPU.
#[test]
fn csr_rows_dense_matches_cpu() {
    let gpu = common::gpu();
    for &(rows, cols, _, deg) in CASES {
        let m = power_law(rows as u64 + 5, rows, cols, deg);
        let full = dense(&m);
        let n = rows.max(3) + 2;
        let sel = rand_ints(rows as u64 + 6, n, rows as u32);
        let want: Vec<f32> =
            sel.iter().flat_map(|&r| full[r as usize * cols..(r as usize + 1) * cols].to_vec()).collect();
        let got = Cpu.csr_rows_dense(&Cpu.csr(&m).unwrap(), &Cpu.index(&sel).unwrap());
        assert_eq!(got.dims(), &[n, cols]);
        assert_eq!(Cpu.read(&got).unwrap(), want, "csr_rows_dense cpu {rows}x{cols}");
        if let Some(g) = &gpu {
            let a = g.csr(&m).unwrap();
            let out = g.read(&g.csr_rows_dense(&a, &g.index(&sel).unwrap())).unwrap();
            assert_eq!(out, want, "csr_rows_dense gpu {rows}x{cols}, {n} rows");
            let bad = g.read(&g.csr_rows_dense(&a, &g.index(&[0, rows as u32]).unwrap())).unwrap();
            assert_eq!(bad[..cols], full[..cols], "a good row beside a bad one");
            assert!(bad[cols..].iter().all(|v| v.is_nan()), "an out-of-range row is NaN");
        }
    }
}

#[test]
#[should_panic(expected = "csr_rows_dense: row 3")]
fn csr_rows_dense_out_of_range_panics_on_cpu() {
    let m = CsrHost::from_triplets(3, 4, &[(0, 1, 1.0)]);
    Cpu.csr_rows_dense(&Cpu.csr(&m).unwrap(), &Cpu.index(&[3]).unwrap());
}
