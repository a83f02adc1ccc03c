"""The gateway's file rules without a database: what the bytes prove (never the name), what a download is served as,
the name it carries, and which file a ticket's history names to whom."""

from __future__ import annotations

import io
import zipfile

import pytest

from services.gateway.api.tickets.file_types import disposition, safe_filename, served_type, sniff
from services.gateway.queries.attachments import named_file
from services.gateway.settings import OFFICE_TYPES


def office(folder: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(f"{folder}document.xml", "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(("data", "declared", "kind"), [
    (b"\x89PNG\r\n\x1a\n....", "application/octet-stream", "image/png"),
    (b"\xff\xd8\xff\xe0..JFIF", None, "image/jpeg"),
    (b"GIF89a....", "image/png", "image/gif"),  # the bytes win over the declared type
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None, "image/webp"),
    (b"%PDF-1.7\n", "text/plain", "application/pdf"),
    (office("word/"), "application/octet-stream", OFFICE_TYPES["docx"]),
    (office("xl/"), None, OFFICE_TYPES["xlsx"]),
    ("привет\r\n\tworld".encode(), "text/plain; charset=utf-8", "text/plain"),
])
def test_the_bytes_decide_the_kind(data: bytes, declared: str | None, kind: str) -> None:
    found = sniff(data, declared)
    assert found is not None and found.content_type == kind


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00\x03\x00\x00\x00", b"\x7fELF\x02\x01\x01\x00", b"PK\x03\x04not a zip at all", b"\xff\xfe\x00\x00",
    b"text with a NUL \x00 inside", b"#!/bin/sh\x1b[31m escape",
])
def test_what_the_bytes_do_not_prove_is_no_kind(data: bytes) -> None:
    assert sniff(data, "image/png") is None


def test_text_keeps_a_textual_declared_type_and_serving_turns_active_ones_into_downloads() -> None:
    html = sniff(b"<html><script>x()</script></html>", "text/html")
    csv = sniff(b"a,b\n1,2\n", "text/csv")
    claimed = sniff(b"plain words", "image/png")
    assert html is not None and (html.allowed_as, html.content_type) == ("text/plain", "text/html")
    assert csv is not None and csv.content_type == "text/csv"
    assert claimed is not None and claimed.content_type == "text/plain"
    for active in ("text/html", "image/svg+xml", "application/xml", "text/javascript", "application/x-msdownload",
                   "TEXT/HTML; charset=utf-8", "", None, "multipart/related"):
        assert served_type(active) == "application/octet-stream", active
    for inline in ("image/png", "application/pdf", "text/plain", "text/csv", OFFICE_TYPES["pptx"]):
        assert served_type(inline) == inline


@pytest.mark.parametrize(("name", "safe"), [
    ("report.pdf", "report.pdf"), ("../../etc/passwd", "passwd"), ("C:\\Users\\x\\bill.pdf", "bill.pdf"),
    ("a\r\nSet-Cookie: x.txt", "a  Set-Cookie: x.txt"), ("evil\u202egpj.exe", "evil gpj.exe"), ("", "attachment"),
    (None, "attachment"), ("dir/", "attachment"), ("x" * 300, "x" * 200),
])
def test_a_filename_is_its_last_segment_without_control_characters(name: str | None, safe: str) -> None:
    assert safe_filename(name) == safe


def test_the_disposition_is_always_a_download_with_the_name_percent_encoded() -> None:
    assert disposition("счёт 1.pdf") == "attachment; filename*=UTF-8''%D1%81%D1%87%D1%91%D1%82%201.pdf"
    assert disposition('a";b\'.txt') == "attachment; filename*=UTF-8''a%22%3Bb%27.txt"


HISTORY = [
    {"type": "MessageReceived", "payload": {"content": {"attachments": [
        {"id": "in1", "filename": "scan.pdf", "content_type": "application/pdf", "size": 3}]}}},
    {"type": "ReplySent", "payload": {"attachments": [
        {"id": "out1", "filename": "fix.txt", "content_type": "text/plain", "size": 1}]}},
    {"type": "NoteAdded", "payload": {"attachments": [
        {"id": "note1", "filename": "internal.txt", "content_type": "text/plain", "size": 1}]}},
    {"type": "TicketClassified", "payload": {"attachments": [
        {"id": "odd1", "filename": "x", "content_type": "text/plain", "size": 1}]}},
    {"type": "ReplySent", "payload": {"text": "an older reply, no files"}},
]


def test_only_files_the_history_names_are_found_and_a_hidden_events_files_are_not() -> None:
    found = {i: named_file(HISTORY, i) for i in ("in1", "out1", "note1", "odd1", "nope")}
    assert {i for i, a in found.items() if a is not None} == {"in1", "out1", "note1"}
    assert found["in1"] is not None and found["in1"].filename == "scan.pdf"
    assert named_file(HISTORY, "note1", {"NoteAdded"}) is None
    assert named_file(HISTORY, "out1", {"NoteAdded"}) is not None
