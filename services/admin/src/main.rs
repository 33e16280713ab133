fn main() -> anyhow::Result<()> {
    service_kit::run::<admin_service::Application>()
}
