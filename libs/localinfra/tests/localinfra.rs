//! Starts real private servers from the installed binaries (needs initdb/pg_ctl, psql,
//! redis-server and redis-cli), on free high ports, in directories under `target/`.

use std::path::PathBuf;
use std::process::Command;

use localinfra::{answers, free_port, workspace_target_dir, PrivatePostgres, PrivateRedis};

fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let dir = workspace_target_dir()
        .join("localinfra-tests")
        .join(format!("{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn psql_select_1(port: u16) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-tAc", "select 1"])
        .output()
        .expect("psql is installed");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_postgres_starts_is_shared_and_stops() {
    let dir = scratch_dir("pg");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let pg = PrivatePostgres::new(dir.join("data"), port);

    // Two callers at once: the lock lets one start the cluster, the other reuses it.
    let (a, b) = tokio::join!(pg.ensure_running(), pg.ensure_running());
    let (a, b) = (a.expect("first start"), b.expect("second start"));
    assert_eq!(
        [a.started_here(), b.started_here()]
            .iter()
            .filter(|s| **s)
            .count(),
        1,
        "exactly one caller starts the server"
    );
    assert_eq!(
        a.url,
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    );
    assert_eq!(a.url, b.url);
    assert!(dir.join("data/PG_VERSION").is_file());
    assert!(answers(&addr).await);
    assert_eq!(psql_select_1(port), "1");

    // Stopping a reused handle is a no-op; the owner's stop really stops it.
    let (owner, other) = if a.started_here() { (a, b) } else { (b, a) };
    other.stop().await.unwrap();
    assert!(answers(&addr).await, "a reused server is left running");
    owner.stop().await.expect("pg_ctl stop");
    assert!(!answers(&addr).await);

    // An existing cluster starts again without initdb.
    let again = pg.ensure_running().await.expect("restart");
    assert!(again.started_here());
    assert_eq!(psql_select_1(port), "1");
    again.stop().await.unwrap();
    assert!(!answers(&addr).await);

    assert!(!dir.join("data.lock").exists(), "lock released");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_redis_starts_is_shared_and_stops() {
    let dir = scratch_dir("redis");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let redis = PrivateRedis::new(dir.join("redis"), port);

    let (a, b) = tokio::join!(redis.ensure_running(), redis.ensure_running());
    let (a, b) = (a.expect("first start"), b.expect("second start"));
    assert_eq!(
        [a.started_here(), b.started_here()]
            .iter()
            .filter(|s| **s)
            .count(),
        1,
        "exactly one caller starts the server"
    );
    assert_eq!(a.url, format!("redis://127.0.0.1:{port}"));

    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "ping"])
        .output()
        .expect("redis-cli is installed");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");

    let (owner, other) = if a.started_here() { (a, b) } else { (b, a) };
    other.stop().await.unwrap();
    assert!(answers(&addr).await, "a reused server is left running");
    owner.stop().await.expect("redis shutdown");
    assert!(!answers(&addr).await);

    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn something_already_answering_is_reused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The directories are never touched when the port already answers.
    let pg = PrivatePostgres::new("/nonexistent/pg", port)
        .ensure_running()
        .await
        .unwrap();
    assert!(!pg.started_here());
    let redis = PrivateRedis::new("/nonexistent/redis", port)
        .ensure_running()
        .await
        .unwrap();
    assert!(!redis.started_here());
    pg.stop().await.unwrap();
    redis.stop().await.unwrap();
}

/// The pid of a process that has exited: what an owner file says after `kill -9` of its writer.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_takes_over_the_servers_a_dead_owner_left_running() {
    let dir = scratch_dir("owned");
    let (pg_port, redis_port) = (free_port(), free_port());
    let pg = PrivatePostgres::new(dir.join("data"), pg_port);
    let redis = PrivateRedis::new(dir.join("redis"), redis_port);

    // A first run starts both, then dies without stopping them.
    let first_pg = pg.ensure_running_as_owner().await.unwrap();
    let first_redis = redis.ensure_running_as_owner().await.unwrap();
    assert!(first_pg.started_here() && first_redis.started_here());
    std::mem::forget(first_pg);
    std::mem::forget(first_redis);
    for owner in ["data.owner", "redis.owner"] {
        std::fs::write(dir.join(owner), format!("{}\n", dead_pid())).unwrap();
    }

    // A shared user of the same servers never takes them over.
    assert!(!pg.ensure_running().await.unwrap().started_here());

    // The next owner takes them over, and its clean stop stops them.
    let pg_handle = pg.ensure_running_as_owner().await.unwrap();
    let redis_handle = redis.ensure_running_as_owner().await.unwrap();
    assert!(
        pg_handle.started_here(),
        "the orphaned Postgres is taken over"
    );
    assert!(
        redis_handle.started_here(),
        "the orphaned Redis is taken over"
    );
    assert_eq!(
        psql_select_1(pg_port),
        "1",
        "its data is still there to use"
    );
    redis_handle.stop().await.unwrap();
    pg_handle.stop().await.unwrap();
    assert!(!answers(&format!("127.0.0.1:{pg_port}")).await);
    assert!(!answers(&format!("127.0.0.1:{redis_port}")).await);
    assert!(!dir.join("data.owner").exists() && !dir.join("redis.owner").exists());

    // A live owner's servers are left alone: the second caller only reuses them.
    let owner = redis.ensure_running_as_owner().await.unwrap();
    let second = redis.ensure_running_as_owner().await.unwrap();
    assert!(owner.started_here() && !second.started_here());
    owner.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
