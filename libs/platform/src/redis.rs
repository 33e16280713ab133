use anyhow::Context;
use deadpool_redis::{Config, Pool, Runtime};
use secrecy::{ExposeSecret, SecretString};

pub type RedisPool = Pool;

pub fn connect(url: &SecretString) -> anyhow::Result<RedisPool> {
    Config::from_url(url.expose_secret())
        .create_pool(Some(Runtime::Tokio1))
        .context("creating the Redis pool")
}

pub async fn ping(pool: &RedisPool) -> anyhow::Result<()> {
    let mut conn = pool.get().await.context("getting a Redis connection")?;
    let reply: String = deadpool_redis::redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .context("PING")?;
    anyhow::ensure!(reply == "PONG", "unexpected PING reply {reply}");
    Ok(())
}
