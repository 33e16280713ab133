//! `bare-balance <port> [workers]`: the bare actix-web baseline of the balance read, as a process
//! of its own beside the fleet.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().unwrap_or_else(|| "0".into()).parse()?;
    let workers: usize = args.next().unwrap_or_else(|| "0".into()).parse()?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    println!("listening on {}", listener.local_addr()?);
    actix_web::rt::System::new()
        .block_on(async move { loadtest::baseline::serve(listener, workers)?.await })?;
    Ok(())
}
