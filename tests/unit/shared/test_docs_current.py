from pathlib import Path

from tools.docs import replace_generated

ROOT = Path(__file__).resolve().parents[3]


def test_architecture_topic_table_is_current() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    assert replace_generated(text) == text, "run: python -c 'from tools.docs import ...' (see tools/docs.py)"
