//! The runtime: device limits and errors, sharing a host device, the buffer
//! pool, read-back, and grids past the per-dimension workgroup limit.

mod common;

use common::*;
use gpurec::{Backend, Error, Gpu};

#[test]
fn a_buffer_over_the_binding_limit_is_an_error_with_the_sizes() {
    let Some(gpu) = gpu() else { return };
    let limit = gpu.limits().max_storage_buffer_binding_size;
    let err = gpu.try_alloc(&|| "embedding table [huge, 64]".into(), limit + 4).unwrap_err();
    match &err {
        Error::TooLarge { bytes, limit: l, what, .. } => {
            assert_eq!((*bytes, *l), (limit + 4, limit));
            assert!(what.contains("embedding table"));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&(limit + 4).to_string()) && msg.contains(&limit.to_string()), "{msg}");
}

#[test]
fn an_op_output_over_the_limit_is_reported_at_flush() {
    // Own context: the error is sticky until the next flush.
    if gpu().is_none() {
        return;
    }
    let gpu = Gpu::new().unwrap();
    let limit = gpu.limits().max_storage_buffer_binding_size as usize;
    let x = gpu.tensor(&[1.0], &[1]).unwrap();
    let big = gpu.binary(gpurec::BinaryOp::Add, &gpu.full(&[limit / 4 + 16], 1.0), &x);
    let err = gpu.flush().unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    drop(big);
    // The context stays usable.
    let y = gpu.scale(&x, 2.0, 1.0);
    assert_eq!(gpu.read(&y).unwrap(), vec![3.0]);
}

#[test]
fn a_host_device_can_be_shared() {
    if gpu().is_none() {
        return;
    }
    // What a game engine does: create its own device, then hand it over.
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default())).unwrap();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).unwrap();
    let gpu = Gpu::from_device(device.clone(), queue);
    let a = gpu.tensor(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let c = gpu.matmul(&a, &a, false, false, None, gpurec::Act::Identity);
    assert_eq!(gpu.read(&c).unwrap(), vec![7.0, 10.0, 15.0, 22.0]);
    assert_eq!(gpu.device().limits(), device.limits());
}

#[test]
fn the_pool_reuses_buffers_across_steps() {
    if gpu().is_none() {
        return;
    }
    let gpu = Gpu::new().unwrap();
    let x = gpu.tensor(&rand_vec(1, 1000), &[10, 100]).unwrap();
    let step = |g: &Gpu| {
        let y = g.activate(&g.matmul(&x, &x, false, true, None, gpurec::Act::Relu), gpurec::Act::Sigmoid);
        let s = g.reduce_rows(&y, gpurec::Reduce::Sum);
        g.flush().unwrap();
        s
    };
    for _ in 0..2 {
        step(&gpu);
    }
    let after_warmup = gpu.memory_usage().0;
    for _ in 0..20 {
        step(&gpu);
    }
    assert_eq!(gpu.memory_usage().0, after_warmup, "no new driver allocations after warm-up");
}

#[test]
fn read_back_is_async_or_blocking_and_handles_empty() {
    let Some(gpu) = gpu() else { return };
    let t = gpu.tensor(&[1.5, -2.0, 3.25], &[3]).unwrap();
    assert_eq!(pollster::block_on(gpu.read_async(&t)).unwrap(), vec![1.5, -2.0, 3.25]);
    assert_eq!(gpu.read(&t).unwrap(), vec![1.5, -2.0, 3.25]);
    let e = gpu.tensor(&[], &[0, 4]).unwrap();
    assert_eq!(gpu.read(&gpu.scale(&e, 2.0, 0.0)).unwrap(), Vec::<f32>::new());
    assert!(gpu.tensor(&[1.0, 2.0], &[3]).is_err(), "data/shape mismatch is an error");
}

#[test]
fn grids_past_the_workgroup_limit_cover_every_element() {
    let Some(gpu) = gpu() else { return };
    // 65535 · 256 + 257 elements: more 256-wide groups than one dimension allows.
    let n = 65_535 * 256 + 257;
    let x = gpu.full(&[n], 1.0);
    let y = gpu.scale(&x, 3.0, 0.5);
    let v = gpu.read(&y).unwrap();
    assert_eq!(v.len(), n);
    assert!(v.iter().all(|&a| a == 3.5), "an element was missed");
    let sum = gpu.read(&gpu.reduce_rows(&gpu.reshape(&y, &[n / 257, 257]), gpurec::Reduce::Max)).unwrap();
    assert!(sum.iter().all(|&a| a == 3.5));
}

/// Trains BPR-MF on a fresh context of its own, injecting `fault` at the
/// third step; returns what `fit` returned, or panics if it panicked or did
/// not return within a minute (a hang).
fn fit_with_fault(fault: gpurec::gpu::Fault) -> gpurec::Result<()> {
    use gpurec::models::registry::{self, Overrides};
    use gpurec::train::{FitConfig, Progress};
    struct Inject(Gpu, gpurec::gpu::Fault, usize);
    impl Progress for Inject {
        fn on_step(&mut self, _epoch: usize, _step: usize, _steps: usize) {
            self.2 += 1;
            if self.2 == 3 {
                self.0.inject_fault(self.1);
            }
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let g = Gpu::new().unwrap();
        let d = gpurec::data::synthetic::generate(&gpurec::data::synthetic::SyntheticConfig {
            users: 50,
            items: 60,
            ..Default::default()
        });
        let set = gpurec::models::TrainSet::all(&d);
        let entry = registry::entry::<Gpu>("bpr").unwrap();
        let cfg = entry.config(&Overrides { dim: Some(8), ..Default::default() }).unwrap();
        let mut m = entry.build(&g, &set, &cfg, 1).unwrap();
        let fit = FitConfig { epochs: 3, batch_size: 64, patience: 0, ..Default::default() };
        let r = gpurec::train::fit(&g, m.as_mut(), &set, None, &fit, &mut Inject(g.clone(), fault, 0)).map(|_| ());
        // Scoring after the fault fails too, rather than hanging or panicking.
        let later = g.read(&m.score_users(&g, &g.index(&[0, 1]).unwrap()));
        let _ = tx.send((r, later.map(|_| ())));
    });
    let (r, later) =
        rx.recv_timeout(std::time::Duration::from_secs(60)).expect("training returned (no panic, no hang)");
    if let gpurec::gpu::Fault::DeviceLost = fault {
        assert!(later.is_err(), "a lost device stays lost");
    }
    r
}

#[test]
fn a_device_lost_mid_training_is_an_error_not_a_panic_or_a_hang() {
    if gpu().is_none() {
        return;
    }
    let e = fit_with_fault(gpurec::gpu::Fault::DeviceLost).expect_err("training on a lost device");
    assert!(matches!(e, Error::DeviceLost(_)), "{e}");
}

#[test]
fn running_out_of_memory_mid_training_is_an_error_naming_the_allocation() {
    if gpu().is_none() {
        return;
    }
    let e = fit_with_fault(gpurec::gpu::Fault::OutOfMemoryAfter(2)).expect_err("an allocation failed");
    assert!(matches!(e, Error::OutOfMemory { .. }) && e.to_string().contains("injected"), "{e}");
}

/// Per-kernel timing (timestamp queries): every dispatch is counted under its
/// kernel, past one query set's worth (2048) in a submission too, the results
/// are the same bits as unprofiled, and turning it off clears it.
#[test]
fn profiling_times_every_dispatch_under_its_kernel() {
    if gpu().is_none() {
        return;
    }
    // A context of its own: profiling is per context and the shared one serves other tests.
    let g = Gpu::new().unwrap();
    let x = g.tensor(&rand_vec(3, 256 * 8), &[256, 8]).unwrap();
    let y = g.tensor(&rand_vec(4, 8 * 256), &[8, 256]).unwrap();
    let plain = g.read(&g.matmul(&x, &y, false, false, None, gpurec::Act::Identity)).unwrap();
    if !g.set_profiling(true) {
        assert!(!g.features().timestamp_query, "profiling refused on an adapter with timestamp queries");
        assert!(g.kernel_times().is_empty());
        return;
    }
    let s0 = g.stats();
    let big = g.matmul(&x, &y, false, false, None, gpurec::Act::Identity); // 256×256: main_128
    let small = g.matmul(&x, &x, true, false, None, gpurec::Act::Identity); // 8×8: main
    let mut t = g.scale(&small, 0.5, 0.0);
    for _ in 0..2100 {
        t = g.scale(&t, 1.0, 0.0);
    }
    assert_eq!(g.read(&big).unwrap(), plain, "profiled results are the unprofiled bits");
    g.read(&t).unwrap();
    let times = g.kernel_times();
    let count = |name: &str| times.iter().find(|(n, _)| n == name).map(|(_, t)| t.dispatches);
    assert_eq!(count("matmul:main_128"), Some(1), "{times:?}");
    assert_eq!(count("matmul"), Some(1), "{times:?}");
    assert!(count("unary").is_some_and(|n| n >= 2101), "{times:?}");
    let timed: u64 = times.iter().map(|(_, t)| t.dispatches).sum();
    assert_eq!(timed, (g.stats() - s0).dispatches, "every dispatch is timed once");
    assert!(times.iter().all(|(_, t)| t.nanos.is_finite() && t.nanos >= 0.0));
    assert!(times.iter().any(|(_, t)| t.nanos > 0.0), "some GPU time was measured: {times:?}");
    g.kernel_times_reset();
    assert!(g.kernel_times().is_empty());
    assert!(!g.set_profiling(false));
    g.read(&g.scale(&t, 1.0, 0.0)).unwrap();
    assert!(g.kernel_times().is_empty(), "off: nothing timed");
}
