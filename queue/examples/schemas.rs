//! Writes the JSON Schemas into the folder given (`make schemas`: `schemas/`).

fn main() -> std::io::Result<()> {
    let folder = std::env::args().nth(1).unwrap_or_else(|| "schemas".to_owned());
    std::fs::create_dir_all(&folder)?;
    for (name, schema) in intake_queue::schema::files() {
        let path = std::path::Path::new(&folder).join(name);
        std::fs::write(&path, intake_queue::schema::to_text(&schema))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
