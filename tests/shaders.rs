//! Every WGSL file parses and validates with naga (no device needed), and
//! every registered kernel compiles on the adapter when one is present.

mod common;

use gpurec::gpu::Shader;

fn validate(name: &str, source: &str) {
    let module =
        naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::default())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
}

#[test]
fn every_shader_file_validates_with_naga() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let prelude = std::fs::read_to_string(dir.join("common.wgsl")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let body = std::fs::read_to_string(&path).unwrap();
        let source = if name == "common" { body } else { format!("{prelude}\n{body}") };
        validate(&name, &source);
        seen += 1;
    }
    assert!(seen >= Shader::ALL.len(), "found {seen} shader files for {} registered kernels", Shader::ALL.len());
}

#[test]
fn every_registered_shader_has_a_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for s in Shader::ALL {
        assert!(dir.join(format!("{}.wgsl", s.stem())).exists(), "{:?} has no file", s);
        validate(s.stem(), s.source());
    }
}

#[test]
fn every_shader_file_is_registered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") || stem == "common" {
            continue;
        }
        assert!(Shader::ALL.iter().any(|s| s.stem() == stem), "shaders/{stem}.wgsl is not in gpu::shaders");
    }
}

#[test]
fn every_shader_compiles_on_the_adapter() {
    let Some(gpu) = common::gpu() else { return };
    gpu.validate_shaders().unwrap();
}
