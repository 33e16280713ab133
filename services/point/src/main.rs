fn main() -> anyhow::Result<()> {
    service_kit::run::<point_service::Application>()
}
