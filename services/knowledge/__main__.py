from shared.runtime.logging import setup_logging
from shared.runtime.service import serve

from .app import create_app
from .settings import KnowledgeSettings


def main() -> None:
    settings = KnowledgeSettings()
    setup_logging("knowledge", settings.log_level, settings.log_json)
    serve(create_app(settings), settings.http_host, settings.http_port, settings.metrics_bind_port)


if __name__ == "__main__":
    main()
