//! `gpurec info`: the adapters found, and the chosen one's limits and features.

use anyhow::Result;
use clap::Args;
use gpurec::device::{Chosen, Device};
use gpurec::{Backend, Gpu};

use super::output::bytes;

/// `gpurec info`.
#[derive(Args, Default)]
pub struct InfoArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn info(args: &InfoArgs) -> Result<()> {
    let adapters = gpurec::gpu::list_adapters();
    let chosen = Gpu::new();
    let auto = match Device::Auto.choose() {
        Ok((Chosen::Gpu(g), why)) => format!("{} ({why})", g.describe()),
        Ok((Chosen::Cpu(c), why)) => format!("{} ({why})", c.describe()),
        Err(e) => format!("error: {e}"),
    };
    if args.json {
        let chosen_json = match &chosen {
            Ok(g) => serde_json::json!({
                "adapter": gpurec::gpu::AdapterSummary::of_gpu(g),
                "limits": {
                    "max_buffer_size": g.limits().max_buffer_size,
                    "max_storage_buffer_binding_size": g.limits().max_storage_buffer_binding_size,
                    "max_compute_workgroup_storage_size": g.limits().max_compute_workgroup_storage_size,
                    "max_compute_invocations_per_workgroup": g.limits().max_compute_invocations_per_workgroup,
                    "max_compute_workgroups_per_dimension": g.limits().max_compute_workgroups_per_dimension,
                    "max_storage_buffers_per_shader_stage": g.limits().max_storage_buffers_per_shader_stage,
                    "min_subgroup_size": g.adapter_info().subgroup_min_size,
                    "max_subgroup_size": g.adapter_info().subgroup_max_size,
                },
                "features": g.features(),
                "software": g.is_software(),
            }),
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "adapters": adapters, "chosen": chosen_json, "auto": auto })
            )?
        );
        return Ok(());
    }
    println!("adapters found ({}), best first:", adapters.len());
    for a in &adapters {
        println!("  {} — {} / {} — {}", a.name, a.backend, a.device_type, a.driver);
    }
    match chosen {
        Ok(g) => {
            let i = g.adapter_info();
            let l = g.limits();
            println!("\nbest adapter: {} ({:?}, {:?})", i.name, i.backend, i.device_type);
            if g.is_software() {
                println!("  software rasterizer: correct, but its timings say nothing about GPU speed");
            }
            println!("  max buffer size:            {}", bytes(l.max_buffer_size));
            println!("  max storage binding:        {}", bytes(l.max_storage_buffer_binding_size));
            println!("  workgroup memory:           {}", bytes(l.max_compute_workgroup_storage_size as u64));
            println!("  invocations per workgroup:  {}", l.max_compute_invocations_per_workgroup);
            println!("  workgroups per dimension:   {}", l.max_compute_workgroups_per_dimension);
            println!("  storage buffers per stage:  {}", l.max_storage_buffers_per_shader_stage);
            println!("  subgroup size:              {}..{}", i.subgroup_min_size, i.subgroup_max_size);
            let f = g.features();
            println!(
                "  optional features:          timestamp_query={} subgroups={} shader_f16={}",
                f.timestamp_query, f.subgroups, f.shader_f16
            );
        }
        Err(e) => println!("\nno GPU context: {e}\n  gpurec can still run with --device cpu"),
    }
    println!("\n--device auto (the default) runs on: {auto}");
    Ok(())
}
