//! `--format html` (issue 30): the pages of a lab run, a `changes` run and a 100-VPC
//! organisation's `analyze`, checked as files (self-contained, bounded) and opened in headless
//! Chromium (Debian's `chromium`): no script error, the elements the inputs name present in the
//! DOM, a screenshot of a fixed size. Screenshots are left in `CARGO_TARGET_TMPDIR/html`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use parallax_model::Scenario;
use parallax_testkit::interop::require;
use parallax_testkit::process::output_within;

use super::parallax;

/// The screenshot's size, fixed so pictures compare.
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1000;

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html");
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

/// Runs parallax with `args`, its standard output kept as the page.
fn page(args: &[&str], name: &str) -> (String, PathBuf, Option<i32>) {
    let child = parallax()
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let out = output_within(child, Duration::from_secs(120), "parallax");
    let html = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"),
        "{args:?}: not a whole page; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = out_dir().join(format!("{name}.html"));
    std::fs::write(&path, &html).expect("write page");
    (html, path, out.status.code())
}

/// Nothing on the page is fetched: no `src`, no link out, no `url(` but to a fragment of the page.
fn assert_self_contained(html: &str) {
    for needle in ["src=", "<link", "@import", "href=\"http", "href='http"] {
        assert!(!html.contains(needle), "the page fetches: {needle}");
    }
    for (i, _) in html.match_indices("url(") {
        assert!(
            html[i + 4..].starts_with('#'),
            "url( not to a fragment: {}",
            &html[i..(i + 40).min(html.len())]
        );
    }
}

struct Opened {
    dom: String,
    /// Lines Chromium wrote for the page's console (errors, warnings, logs).
    console: Vec<String>,
}

fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// Opens `page` in headless Chromium: the DOM after the page's script ran, and a screenshot.
fn open(chromium: &Path, page: &Path, shot: &Path) -> Opened {
    let url = format!("file://{}", page.display());
    let opened = dump_dom(chromium, &url);
    chromium_run(
        chromium,
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={WIDTH},{HEIGHT}"),
            url,
        ],
    );
    opened
}

/// The DOM of `url` after its script ran, and what went to the console.
fn dump_dom(chromium: &Path, url: &str) -> Opened {
    let profile = tempdir("chromium-profile");
    let child = Command::new(chromium)
        .args(chromium_args(&profile))
        .args(["--dump-dom", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let out = output_within(child, Duration::from_secs(90), "chromium --dump-dom");
    assert!(out.status.success(), "chromium --dump-dom failed");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let _ = std::fs::remove_dir_all(&profile);
    Opened { dom, console }
}

/// The width and height a PNG's header says.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).expect("screenshot written");
    assert!(
        b.len() > 24 && b.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG"
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// The checks every page passes in the browser: its script ran to the end, nothing went to the
/// console, and the screenshot has the size asked for.
fn assert_opens_clean(o: &Opened, shot: &Path) {
    assert!(o.console.is_empty(), "console: {:?}", o.console);
    assert!(
        o.dom.contains(r#"data-ready="yes""#),
        "the script did not finish"
    );
    assert!(
        o.dom.contains(r#"data-errors="0""#),
        "script errors on the page"
    );
    assert_eq!(png_size(shot), (WIDTH, HEIGHT));
}

/// How many times `needle` is in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The seed incident's lab run: every step drawn, every VPC, endpoint and API of each step's
/// topology named in its diagram, one path per request the scenario makes, the incident's
/// endpoint-added step showing the 403 in words (not by colour alone).
#[test]
fn lab_page_of_the_seed_incident() {
    let (html, path, code) = page(&["lab", "--format", "html"], "lab-seed");
    assert_eq!(code, Some(0));
    assert_self_contained(&html);
    let scenario = Scenario::seed().expect("seed");
    assert_lab_page(&html, &scenario, "the seed");
    // The incident: from inside the VPC after the endpoint came, a 403 said in words.
    assert!(html.contains("✗ 403"), "no 403 in words");
    assert!(html.contains("✓ 200"));
    let Some(chromium) = require("chromium", "the Debian package chromium") else {
        return;
    };
    let shot = out_dir().join("lab-seed.png");
    let o = open(&chromium, &path, &shot);
    assert_opens_clean(&o, &shot);
    // The script chose the last step: its button is pressed, the others' sections hidden.
    let last = scenario.steps.len() - 1;
    assert!(
        o.dom
            .contains(&format!(r#"data-view="v{last}" aria-pressed="true""#)),
        "last step not shown"
    );
    assert_eq!(count(&o.dom, r#"aria-pressed="true""#), 1);
    // The incident's step named in the address, in the dark theme; and printed on A4 (every
    // page of the PDF 595 × 842 points, ISO 216's 210 × 297 mm).
    let dark = out_dir().join("lab-seed-endpoint-added-dark.png");
    chromium_run(
        &chromium,
        &[
            "--force-dark-mode".to_owned(),
            "--blink-settings=preferredColorScheme=0".to_owned(),
            format!("--screenshot={}", dark.display()),
            format!("--window-size={WIDTH},{HEIGHT}"),
            format!("file://{}#v1", path.display()),
        ],
    );
    assert_eq!(png_size(&dark), (WIDTH, HEIGHT));
    let pdf = out_dir().join("lab-seed.pdf");
    chromium_run(
        &chromium,
        &[
            "--no-pdf-header-footer".to_owned(),
            format!("--print-to-pdf={}", pdf.display()),
            format!("file://{}", path.display()),
        ],
    );
    let bytes = std::fs::read(&pdf).expect("pdf written");
    let text = String::from_utf8_lossy(&bytes);
    let boxes: Vec<String> = text
        .match_indices("/MediaBox [")
        .map(|(i, _)| text[i..].chars().take(60).collect())
        .collect();
    assert!(!boxes.is_empty(), "no pages");
    for b in boxes {
        let nums: Vec<f64> = b["/MediaBox [".len()..]
            .split(']')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        assert_eq!(nums.len(), 4, "{b}");
        assert!(
            (nums[2] - 595.0).abs() < 2.0 && (nums[3] - 842.0).abs() < 2.0,
            "{b}: not A4"
        );
    }
    eprintln!("screenshots: {} {}", shot.display(), dark.display());
}

/// Runs Chromium headless with `args` after the usual ones, in a profile of its own.
fn chromium_run(chromium: &Path, args: &[String]) {
    let profile = tempdir("chromium-profile");
    let child = Command::new(chromium)
        .args(chromium_args(&profile))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let out = output_within(child, Duration::from_secs(90), "chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium {args:?} failed");
}

/// What the page of a lab run must show, from the scenario itself: a view per step, each VPC,
/// endpoint and API of the step's topology drawn in it, one path per request the step makes.
fn assert_lab_page(html: &str, scenario: &Scenario, name: &str) {
    assert_eq!(
        count(html, r#"<section class="view""#),
        scenario.steps.len(),
        "{name}"
    );
    for (k, step) in scenario.steps.iter().enumerate() {
        let t = scenario.topology_at(k).expect("step topology");
        let section = &html[html.find(&format!(r#"id="v{k}""#)).expect("view")..];
        let section = &section[..section.find("</section>").expect("end")];
        for id in t
            .vpcs
            .iter()
            .map(|v| v.id.to_string())
            .chain(t.endpoints.iter().map(|e| e.id.to_string()))
            .chain(t.apis.iter().map(|a| a.name.clone()))
        {
            assert!(
                section.contains(&format!(">{id}</text>")),
                "{name}, step {k}: {id} not drawn"
            );
        }
        assert_eq!(
            count(section, r#"<path id="v"#),
            step.requests.len(),
            "{name}, step {k}: one path per request"
        );
    }
}

/// Every scenario of the library makes its page (the largest included), self-contained, with
/// every element and request of every step drawn.
#[test]
fn every_scenario_has_its_page() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let name = f
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("scenario")
            .to_owned();
        let (html, _, code) = page(
            &["lab", "--format", "html", f.to_str().expect("path")],
            &format!("lab-{name}"),
        );
        assert_eq!(code, Some(0), "{name}");
        assert_self_contained(&html);
        let scenario = Scenario::from_path(&f).expect("scenario");
        assert_lab_page(&html, &scenario, &name);
    }
}

/// `changes` of the incident's template (private DNS off → on): before and after drawn, the
/// flipped call marked, the finding introduced linked to the endpoint it names.
#[test]
fn changes_page_of_the_incident() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../analyze/tests/fixtures");
    let (off, on) = (
        fixtures.join("incident-off.yaml"),
        fixtures.join("incident.yaml"),
    );
    let (html, path, code) = page(
        &[
            "changes",
            "--format",
            "html",
            off.to_str().expect("path"),
            on.to_str().expect("path"),
        ],
        "changes-incident",
    );
    assert_eq!(code, Some(1), "a change that breaks a call exits 1");
    assert_self_contained(&html);
    assert_eq!(count(&html, r#"<section class="view""#), 2);
    assert!(html.contains("changed: 200 → 403 ForbiddenException"));
    assert!(html.contains("PX001"));
    assert!(html.contains("introduced"));
    // The change and the finding link to elements of the after view: the change names the
    // template's logical id, which the page knows as the endpoint it became.
    let changed = &html[html.find(r#"id="changes""#).expect("changes section")..];
    let changed = &changed[..changed.find("</section>").expect("end")];
    assert!(
        changed.contains(r##"<a href="#v1-n"##),
        "change not linked: {changed}"
    );
    assert!(html.contains(r##"<a href="#v1-n"##), "finding not linked");
    let Some(chromium) = require("chromium", "the Debian package chromium") else {
        return;
    };
    let shot = out_dir().join("changes-incident.png");
    let o = open(&chromium, &path, &shot);
    assert_opens_clean(&o, &shot);
    assert!(
        o.dom.contains(r#"data-view="v1" aria-pressed="true""#),
        "after not shown"
    );
}

/// A synthetic organisation of 100 VPCs, 100 execute-api endpoints (every tenth with private
/// DNS) and 100 REGIONAL APIs, as CloudFormation: the page is under 2 MB with every VPC drawn;
/// the browser's time to the end of the page's script is printed (the target, under a second,
/// is measured by the bench, not asserted here).
#[test]
fn analyze_page_of_a_100_vpc_organisation() {
    let dir = tempdir("org-100");
    let _gone = Gone(dir.clone());
    let template = dir.join("org-100.json");
    std::fs::write(&template, org_template(100)).expect("template");
    let (html, path, _) = page(
        &[
            "analyze",
            "--format",
            "html",
            template.to_str().expect("path"),
        ],
        "analyze-org-100",
    );
    assert_self_contained(&html);
    assert!(html.len() < 2 * 1024 * 1024, "{} bytes", html.len());
    assert_eq!(
        count(&html, r#"<g class="node layer1""#),
        101,
        "100 VPCs and the internet"
    );
    assert_eq!(count(&html, r#"<g class="node layer5""#), 100, "100 APIs");
    let Some(chromium) = require("chromium", "the Debian package chromium") else {
        return;
    };
    let shot = out_dir().join("analyze-org-100.png");
    let o = open(&chromium, &path, &shot);
    assert_opens_clean(&o, &shot);
    let ms = o
        .dom
        .split(r#"data-render-ms=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("?");
    eprintln!(
        "100-VPC page: {} bytes, script done at {ms} ms in headless Chromium",
        html.len()
    );
    // The 10,100-cell matrix is built by the script when opened (here by its address): a row
    // per API, a column per network, and every cell a result.
    let m = dump_dom(&chromium, &format!("file://{}#v0-matrix", path.display()));
    assert!(m.console.is_empty(), "console: {:?}", m.console);
    let table = m
        .dom
        .split(r#"<table class="matrix">"#)
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the matrix was built");
    assert_eq!(count(table, "<tr>"), 101, "a header row and 100 APIs");
    assert_eq!(
        count(table, r#"<th scope="col">"#),
        102,
        "Target, the internet, 100 VPCs"
    );
    assert_eq!(count(table, "<td class="), 100 * 101);
    let _ = std::fs::remove_dir_all(&dir);
}

/// 100·k resources in thirds: VPCs, execute-api endpoints in them (every tenth with private
/// DNS), REGIONAL APIs (the shape of the bench's synthetic organisation).
fn org_template(vpcs: usize) -> String {
    let mut res = serde_json::Map::new();
    for i in 0..vpcs {
        res.insert(
            format!("Vpc{i}"),
            serde_json::json!({"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": format!("10.{i}.0.0/16"), "EnableDnsSupport": true, "EnableDnsHostnames": true}}),
        );
        res.insert(
            format!("Endpoint{i}"),
            serde_json::json!({"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcId": {"Ref": format!("Vpc{i}")}, "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.execute-api"}, "VpcEndpointType": "Interface", "PrivateDnsEnabled": i % 10 == 0}}),
        );
        res.insert(
            format!("Api{i}"),
            serde_json::json!({"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": format!("api-{i}"), "EndpointConfiguration": {"Types": ["REGIONAL"]}}}),
        );
    }
    serde_json::json!({ "Resources": res }).to_string()
}

/// A folder removed when this goes out of scope, by whatever path the test leaves.
struct Gone(PathBuf);

impl Drop for Gone {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "parallax-it-{}-{what}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}
