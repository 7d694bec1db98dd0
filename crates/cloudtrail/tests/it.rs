//! `rawevent` is lossless: for every record of the fixtures (and of the shared corpus when it is
//! beside the repository), rendering the stored template gives the record's text back.

use std::path::{Path, PathBuf};

use trailscope_cloudtrail::template::render_batch;
use trailscope_cloudtrail::{
    Classified, ElementReader, EventBatchBuilder, Limits, Source, classify, compact_json, schema,
};

fn check_record(bytes: &[u8], checked: &mut usize) {
    match classify(bytes) {
        Classified::Event { event, raw, event_time } => {
            let mut b = EventBatchBuilder::with_capacity(1);
            b.push(&event, raw, event_time, &Source { name: "t", id: "t" }, 0);
            let batch = b.finish().expect("batch");
            let rendered = render_batch(&batch, schema::EVENT_TEMPLATE).expect("render");
            assert_eq!(rendered.value(0), compact_json(raw), "round trip of {raw}");
            let template = batch.column_by_name(schema::EVENT_TEMPLATE).expect("template");
            let template = template
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .expect("utf8");
            if raw.contains("\"eventID\":\"") && !raw.contains('\n') {
                assert!(template.value(0).len() < raw.len(), "nothing spliced out of {raw}");
            }
            *checked += 1;
        }
        Classified::Embedded(inner) => check_record(inner.as_bytes(), checked),
        Classified::Nested(items) => items.iter().for_each(|i| check_record(i.as_bytes(), checked)),
        Classified::Digest | Classified::Rejected(_) => {}
    }
}

fn check_tree(dir: &Path) -> usize {
    let mut checked = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.to_string_lossy();
            if ![".json", ".json.gz", ".log", ".jsonl"]
                .iter()
                .any(|x| name.ends_with(x))
            {
                continue;
            }
            let file = std::fs::File::open(&p).expect("open");
            let mut r = ElementReader::new(file, Limits::default());
            while let Ok(Some(e)) = r.next_element() {
                check_record(e.bytes, &mut checked);
            }
        }
    }
    checked
}

#[test]
fn rendering_the_template_gives_the_original_record() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let n = check_tree(&root.join("tests/fixtures"));
    assert!(n >= 15, "checked {n} fixture records");
    let shared = std::env::var_os("TRAILSCOPE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data/cloudtrail"));
    if shared.is_dir() {
        let n = check_tree(&shared);
        assert!(n > 350, "checked {n} corpus records");
    } else {
        eprintln!("SKIPPED: shared corpus not found at {}", shared.display());
    }
}
