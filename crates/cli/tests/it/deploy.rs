//! The deployment files as they run: the health check the ECS task definition and the
//! Dockerfile give (the binary itself, `probe` of `/healthz`) against a real `parallax watch`.

use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_health_check_is_the_binary_itself() {
    let bin = env!("CARGO_BIN_EXE_parallax");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let task: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/ecs/task-definition.json")).expect("read"),
    )
    .expect("JSON");
    let sidecar = task["containerDefinitions"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == "parallax-watch")
        .expect("the sidecar")
        .clone();
    let check: Vec<String> = sidecar["healthCheck"]["command"]
        .as_array()
        .expect("command")
        .iter()
        .skip(1) // "CMD"
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dir = std::env::temp_dir().join(format!("parallax-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("watch.yaml");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:{port}\ninterval: 60s\ntargets:\n  - name: nothing\n    url: http://127.0.0.1:9/\n    args: [--max-time, \"1\"]\n"
        ),
    )
    .expect("config");
    let health = || {
        let args: Vec<String> = check
            .iter()
            .skip(1)
            .map(|a| a.replace("127.0.0.1:9595", &format!("127.0.0.1:{port}")))
            .collect();
        assert_eq!(check[0], "/parallax");
        parallax_testkit::process::run_within(
            Command::new(bin).args(&args),
            Duration::from_secs(30),
            "the health check",
        )
        .status
        .code()
    };
    // Nothing listens yet: the check fails (curl's 7).
    assert_eq!(health(), Some(7));
    let mut watch = Command::new(bin)
        .args(["watch", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch");
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let healthy = up.then(&health);
    let _ = watch.kill();
    let _ = watch.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(up, "watch did not listen on 127.0.0.1:{port}");
    assert_eq!(healthy, Some(Some(0)));
}
