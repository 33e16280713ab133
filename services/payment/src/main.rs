fn main() -> anyhow::Result<()> {
    service_kit::run::<payment_service::Application>()
}
