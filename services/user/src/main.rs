fn main() -> anyhow::Result<()> {
    service_kit::run::<user_service::Application>()
}
