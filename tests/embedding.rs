//! Embedding gather and its grouped gradient, GPU against CPU.

mod common;

use common::*;
use gpurec::{Backend, Cpu};

#[test]
fn gather_rows_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(rows, d, n) in &[(1, 1, 1), (13, 7, 257), (300, 64, 65), (5, 3, 0)] {
        let (tc, tg) = both(&gpu, &rand_vec(rows as u64, rows * d), &[rows, d]);
        let idx = rand_ints(n as u64, n, rows as u32);
        let want = Cpu.gather_rows(&tc, &Cpu.index(&idx).unwrap());
        let got = gpu.gather_rows(&tg, &gpu.index(&idx).unwrap());
        check(&format!("gather_rows {rows}x{d} n={n}"), &gpu, &got, &want, EXACTISH);
    }
}

#[test]
fn scatter_add_rows_matches_cpu_and_dense_sum() {
    let Some(gpu) = gpu() else { return };
    for &(rows, d, n) in &[(1, 1, 1), (13, 7, 257), (3, 64, 65), (5, 3, 0)] {
        let idx = rand_ints(n as u64 + 1, n, rows as u32);
        let dy = rand_vec(n as u64 + 2, n * d);
        let (dc, dg) = both(&gpu, &dy, &[n, d]);
        let gc = Cpu.row_groups(&idx).unwrap();
        let gg = gpu.row_groups(&idx).unwrap();
        let want = Cpu.scatter_add_rows(&dc, &gc);
        check(&format!("scatter_add_rows {rows}x{d} n={n}"), &gpu, &gpu.scatter_add_rows(&dg, &gg), &want, EXACTISH);
        // Against a plain dense accumulation.
        let mut dense = vec![0f32; rows * d];
        for (i, &r) in idx.iter().enumerate() {
            for j in 0..d {
                dense[r as usize * d + j] += dy[i * d + j];
            }
        }
        let rows_hit = Cpu.read_index(&gc.rows).unwrap();
        for (g, &r) in rows_hit.iter().enumerate() {
            let got: Vec<f32> = (0..d).map(|j| want[[g, j]]).collect();
            assert_close("scatter vs dense", &got, &dense[r as usize * d..(r as usize + 1) * d], EXACTISH);
        }
    }
}

#[test]
fn concat_rows_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(na, nb, d) in &[(1, 1, 1), (7, 0, 3), (65, 13, 64)] {
        let (ac, ag) = both(&gpu, &rand_vec(1, na * d), &[na, d]);
        let (bc, bg) = both(&gpu, &rand_vec(2, nb * d), &[nb, d]);
        check("concat_rows", &gpu, &gpu.concat_rows(&ag, &bg), &Cpu.concat_rows(&ac, &bc), EXACTISH);
    }
}

#[test]
fn slice_rows_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &(n, d, start, len) in &[(1, 1, 0, 1), (13, 7, 5, 8), (300, 64, 257, 43), (5, 3, 5, 0)] {
        let (tc, tg) = both(&gpu, &rand_vec(n as u64, n * d), &[n, d]);
        check("slice_rows", &gpu, &gpu.slice_rows(&tg, start, len), &Cpu.slice_rows(&tc, start, len), EXACTISH);
    }
}
