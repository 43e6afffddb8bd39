//! Where analyze's time goes on a large input: parse, import, findings.
fn main() {
    let path = std::env::args().nth(1).expect("a file");
    let text = std::fs::read_to_string(&path).expect("read");
    let t0 = std::time::Instant::now();
    let root = parallax_analyze::source::parse(&text, &path).expect("parse");
    let t1 = std::time::Instant::now();
    let m = if parallax_analyze::terraform::is_plan(&root) {
        parallax_analyze::terraform::import(&root, &path)
    } else {
        parallax_analyze::cfn::import(&root, &path)
    };
    let t2 = std::time::Instant::now();
    let f = parallax_analyze::findings::findings(&m);
    let t3 = std::time::Instant::now();
    println!(
        "parse {:?} import {:?} findings {:?} ({} findings)",
        t1 - t0,
        t2 - t1,
        t3 - t2,
        f.len()
    );
}
