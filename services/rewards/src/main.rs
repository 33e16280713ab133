fn main() -> anyhow::Result<()> {
    service_kit::run::<rewards_service::Application>()
}
